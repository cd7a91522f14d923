import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand } from './support/agents';
import { Client, eventually } from './support/identity';
import { FilesFixture, patternBytes, sha256 } from './support/instance-files';
import { tempDir } from './support/test-env';

const EDIT_LIMIT = 1024 * 1024;
const UPLOAD_LIMIT = 4 * 1024 * 1024;
const REQUEST_LIMIT = 6 * 1024 * 1024;

describe('instance files API on a real agent', () => {
  let f: FilesFixture;
  let owner: Client;

  before(async () => {
    f = await FilesFixture.start({
      HOSTPLANE_FILES_MAX_EDIT_BYTES: String(EDIT_LIMIT),
      HOSTPLANE_FILES_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT),
      HOSTPLANE_FILES_MAX_UPLOAD_REQUEST_BYTES: String(REQUEST_LIMIT),
    });
    owner = f.owner;
  });
  after(() => f?.close());

  const put = (path: string, body: Buffer | string, type = 'application/octet-stream') =>
    owner.request(f.url(`/content?path=${encodeURIComponent(path)}`), {
      method: 'PUT',
      body,
      headers: { 'content-type': type },
    });
  const names = async (path: string) => {
    const res = await owner.request(f.url(`?path=${encodeURIComponent(path)}`));
    assert.equal(res.status, 200, res.text);
    return (res.body.entries as { name: string; type: string }[]).map(
      (e) => `${e.type === 'directory' ? 'd' : 'f'}:${e.name}`,
    );
  };

  it('mkdir, write, read, list, move and delete round trip, and each write is audited', async () => {
    const mk = await owner.request(f.url('/mkdir'), { method: 'POST', json: { path: 'config/plugins' } });
    assert.equal(mk.status, 201, mk.text);
    assert.equal(mk.body.type, 'directory');

    const text = 'motd=héllo\nmax-players=20\n';
    const w = await put('config/server.properties', text, 'text/plain; charset=utf-8');
    assert.equal(w.status, 200, w.text);
    assert.deepEqual(w.body, { path: 'config/server.properties', size_bytes: Buffer.byteLength(text) });
    assert.equal(
      readFileSync(join(f.root, 'config/server.properties'), 'utf8'),
      text,
      'the bytes are on the agent host',
    );

    const r = await owner.request(f.url('/content?path=config/server.properties'));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; charset=utf-8/);
    assert.equal(r.text, text);

    const binary = Buffer.from([0, 1, 2, 255, 0, 10, 13, 0x80]);
    assert.equal((await put('config/level.dat', binary)).status, 200);
    const rb = await fetch(f.hubUrl + f.url('/content?path=config/level.dat'), { headers: authOf(owner) });
    assert.equal(rb.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(Buffer.from(await rb.arrayBuffer()), binary);

    assert.deepEqual(await names('.'), ['d:config']);
    assert.deepEqual(await names('config'), ['d:plugins', 'f:level.dat', 'f:server.properties']);

    const mv = await owner.request(f.url('/move'), {
      method: 'POST',
      json: { from: 'config/server.properties', to: 'config/plugins/server.old' },
    });
    assert.equal(mv.status, 200, mv.text);
    assert.deepEqual(mv.body.moved, [{ from: 'config/server.properties', to: 'config/plugins/server.old' }]);
    const gone = await owner.request(f.url('/content?path=config/server.properties'));
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'path_not_found');
    assert.equal((await put('config/level2.dat', 'x')).status, 200);
    const clash = await owner.request(f.url('/move'), {
      method: 'POST',
      json: { moves: [{ from: 'config/level2.dat', to: 'config/level.dat' }] },
    });
    assert.equal(clash.status, 409, clash.text);
    assert.equal(clash.body.code, 'path_exists');
    assert.equal(
      readFileSync(join(f.root, 'config/level.dat')).length,
      binary.length,
      'a refused move leaves the target alone',
    );

    const del = await owner.request(f.url(''), {
      method: 'DELETE',
      json: { paths: ['config/plugins', 'config/nope.txt'] },
    });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { deleted: ['config/plugins'], missing: ['config/nope.txt'] });
    const one = await owner.request(f.url('?path=config/level2.dat'), { method: 'DELETE' });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(await names('config'), ['f:level.dat']);

    for (const action of [
      'instance.files.write',
      'instance.files.move',
      'instance.files.delete',
      'instance.files.mkdir',
    ]) {
      const entries = await f.ctx.auditEntries({ action });
      assert.ok(
        entries.some((e) => e.target_id === f.instanceId && e.outcome === 'success'),
        `${action} audited`,
      );
    }
  });

  it('a 3 MB file downloads byte-identical with its length and name; the editor view refuses it with 413', async () => {
    const data = patternBytes(3 * 1000 * 1000);
    const w = await put('wörld data.bin', data);
    assert.equal(w.status, 200, w.text);
    assert.equal(w.body.size_bytes, data.length);

    const res = await fetch(f.hubUrl + f.url(`/download?path=${encodeURIComponent('wörld data.bin')}`), {
      headers: authOf(owner),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(data.length));
    assert.equal(
      res.headers.get('content-disposition'),
      `attachment; filename="w_rld data.bin"; filename*=UTF-8''w%C3%B6rld%20data.bin`,
    );
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(data));

    const big = await owner.request(f.url(`/content?path=${encodeURIComponent('wörld data.bin')}`));
    assert.equal(big.status, 413, big.text);
    assert.equal(big.body.code, 'file_too_large');
    const dir = await owner.request(f.url('/download?path=config'));
    assert.equal(dir.status, 409, dir.text);
    assert.equal(dir.body.code, 'not_a_file');
  });

  it('a multipart upload of two files lands both; a bad name in it changes nothing', async () => {
    const a = patternBytes(200_000, 1);
    const b = Buffer.from('second file\n');
    const form = new FormData();
    form.append('file', new Blob([a]), 'a.bin');
    form.append('note', 'ignored field');
    form.append('file', new Blob([b]), 'nested/b.txt');
    assert.equal((await owner.request(f.url('/mkdir'), { method: 'POST', json: { path: 'up/nested' } })).status, 201);
    const res = await owner.request(f.url('/upload?path=up'), { method: 'POST', body: form });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(
      res.body.files.map((x: { path: string; size_bytes: number }) => [x.path, x.size_bytes]),
      [
        ['up/a.bin', a.length],
        ['up/nested/b.txt', b.length],
      ],
    );
    assert.equal(sha256(readFileSync(join(f.root, 'up/a.bin'))), sha256(a));
    assert.equal(readFileSync(join(f.root, 'up/nested/b.txt'), 'utf8'), 'second file\n');

    const bad = new FormData();
    bad.append('file', new Blob([Buffer.from('first')]), 'fine.txt');
    bad.append('file', new Blob([Buffer.from('evil')]), '../../evil.txt');
    const refused = await owner.request(f.url('/upload?path=up'), { method: 'POST', body: bad });
    assert.equal(refused.status, 400, refused.text);
    assert.ok(!existsSync(join(f.root, 'up/fine.txt')), 'the good file before the bad one was not placed either');
    assert.ok(!existsSync(join(f.root, '..', 'evil.txt')) && !existsSync(join(f.root, 'evil.txt')));

    const notMultipart = await owner.request(f.url('/upload?path=up'), { method: 'POST', json: { a: 1 } });
    assert.equal(notMultipart.status, 415, notMultipart.text);
  });

  it('uploads past the limits get 413 and leave nothing behind, whether announced or streamed', async () => {
    const tooBig = patternBytes(UPLOAD_LIMIT + 1, 5);
    const announced = await put('big-announced.bin', tooBig);
    assert.equal(announced.status, 413, announced.text);
    assert.equal(announced.body.code, 'file_too_large');
    const streamed = await owner.request(f.url('/content?path=big-streamed.bin'), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Blob([tooBig]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413, streamed.text);
    const one = new FormData();
    one.append('file', new Blob([tooBig]), 'big-part.bin');
    const onePart = await owner.request(f.url('/upload'), { method: 'POST', body: one });
    assert.equal(onePart.status, 413, onePart.text);
    const two = new FormData();
    two.append('file', new Blob([patternBytes(UPLOAD_LIMIT - 1)]), 'part-1.bin');
    two.append('file', new Blob([patternBytes(REQUEST_LIMIT - UPLOAD_LIMIT + 2)]), 'part-2.bin');
    const total = await owner.request(f.url('/upload'), { method: 'POST', body: two });
    assert.equal(total.status, 413, total.text);
    for (const name of ['big-announced.bin', 'big-streamed.bin', 'big-part.bin', 'part-1.bin', 'part-2.bin'])
      assert.ok(!existsSync(join(f.root, name)), `${name} was not written`);
    await eventually(
      async () => readdirSync(f.staging).filter((n) => !n.endsWith('.committed')).length === 0,
      'no staging left on the node',
      5000,
    );
  });

  it('a directory downloads as a zip that python opens, with every file intact', async () => {
    const files: Record<string, Buffer> = {
      'world/level.dat': patternBytes(70_000, 3),
      'world/region/r.0.0.mca': patternBytes(300_000, 4),
      'world/empty.txt': Buffer.alloc(0),
    };
    assert.equal(
      (await owner.request(f.url('/mkdir'), { method: 'POST', json: { path: 'world/region' } })).status,
      201,
    );
    for (const [p, data] of Object.entries(files)) assert.equal((await put(p, data)).status, 200);
    const res = await fetch(f.hubUrl + f.url('/download-zip?path=world'), { headers: authOf(owner) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="world\.zip"/);
    const zipFile = join(tempDir('hostplane-zip-'), 'world.zip');
    writeFileSync(zipFile, Buffer.from(await res.arrayBuffer()));
    const script =
      'import hashlib, json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}))';
    const py = await runCommand('python3', ['-c', script, zipFile], { PATH: process.env.PATH ?? '/usr/bin:/bin' });
    assert.equal(py.code, 0, py.output);
    assert.deepEqual(JSON.parse(py.output), Object.fromEntries(Object.entries(files).map(([p, d]) => [p, sha256(d)])));

    const two = await fetch(f.hubUrl + f.url('/download-zip?paths=world/level.dat,world/empty.txt'), {
      headers: authOf(owner),
    });
    assert.equal(two.status, 200);
    const twoFile = join(tempDir('hostplane-zip-'), 'two.zip');
    writeFileSync(twoFile, Buffer.from(await two.arrayBuffer()));
    const listed = await runCommand(
      'python3',
      ['-c', 'import sys, zipfile; print(sorted(zipfile.ZipFile(sys.argv[1]).namelist()))', twoFile],
      { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    );
    assert.equal(listed.output.trim(), "['empty.txt', 'level.dat']", 'entries are relative to their common directory');
  });

  it('refuses traversal with 400 before the agent, and a planted link to outside the root with 400 from it', async () => {
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', 'a//b', './x']) {
      const q = encodeURIComponent(bad);
      const attempts = [
        await owner.request(f.url(`?path=${q}`)),
        await owner.request(f.url(`/content?path=${q}`)),
        await put(bad, 'owned'),
        await owner.request(f.url(`/download?path=${q}`)),
        await owner.request(f.url(`/download-zip?path=${q}`)),
        await owner.request(f.url('/mkdir'), { method: 'POST', json: { path: bad } }),
        await owner.request(f.url('/move'), { method: 'POST', json: { from: 'config/level.dat', to: bad } }),
        await owner.request(f.url(''), { method: 'DELETE', json: { paths: [bad] } }),
      ];
      assert.deepEqual(
        attempts.map((a) => a.status),
        attempts.map(() => 400),
        `${bad}: ${attempts.map((a) => a.text).join('\n')}`,
      );
    }
    assert.ok(!existsSync(join(f.root, '..', 'x')));

    const { outside, secret } = f.plantEscape('escape');
    const viaLink = [
      await owner.request(f.url('?path=escape')),
      await owner.request(f.url('/content?path=escape/secret.txt')),
      await owner.request(f.url('/download?path=escape/secret.txt')),
      await put('escape/secret.txt', 'overwritten'),
      await put('escape/new.txt', 'created'),
      await owner.request(f.url('/mkdir'), { method: 'POST', json: { path: 'escape/sub' } }),
      await owner.request(f.url('/move'), { method: 'POST', json: { from: 'escape/secret.txt', to: 'stolen.txt' } }),
      await owner.request(f.url('/move'), {
        method: 'POST',
        json: { from: 'config/level.dat', to: 'escape/level.dat' },
      }),
      await owner.request(f.url(''), { method: 'DELETE', json: { paths: ['escape/secret.txt'] } }),
      await owner.request(f.url('/download-zip?paths=escape/secret.txt')),
    ];
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('uploaded')]), 'up.txt');
    viaLink.push(await owner.request(f.url('/upload?path=escape'), { method: 'POST', body: form }));
    assert.deepEqual(
      viaLink.map((a) => `${a.status} ${a.body?.code}`),
      viaLink.map(() => '400 invalid_path'),
      viaLink.map((a) => a.text).join('\n'),
    );
    assert.equal(readFileSync(secret, 'utf8'), 'do not touch\n', 'the outside file is unchanged');
    for (const name of ['new.txt', 'sub', 'level.dat', 'up.txt'])
      assert.ok(!existsSync(join(outside, name)), `${name} was not created outside`);
    assert.ok(existsSync(join(f.root, 'config/level.dat')), 'the refused move left the source');
    assert.ok(!existsSync(join(f.root, 'stolen.txt')));
  });

  it('another organization gets 404, a viewer (instances.view without instances.files) 403', async () => {
    const other = await f.ctx.newOrg();
    const viewer = await f.ctx.addMember({ id: owner.defaultOrg!, owner }, 'viewer');
    assert.equal((await viewer.request(`/v1/instances/${f.instanceId}`)).status, 200, 'the viewer sees the instance');
    const form = () => {
      const fd = new FormData();
      fd.append('file', new Blob([Buffer.from('x')]), 'intruder.txt');
      return fd;
    };
    const calls: [string, RequestInit & { json?: unknown }][] = [
      [f.url('?path=.'), {}],
      [f.url('/content?path=config/level.dat'), {}],
      [f.url('/content?path=intruder.txt'), { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }],
      [f.url('/download?path=config/level.dat'), {}],
      [f.url('/download-zip?path=config'), {}],
      [f.url('/upload?path=.'), { method: 'POST', body: form() }],
      [f.url('/mkdir'), { method: 'POST', json: { path: 'intruder' } }],
      [f.url('/move'), { method: 'POST', json: { from: 'config', to: 'moved' } }],
      [f.url(''), { method: 'DELETE', json: { paths: ['config'] } }],
      [f.url('/tus'), { method: 'OPTIONS' }],
      [
        f.url('/tus'),
        {
          method: 'POST',
          headers: {
            'tus-resumable': '1.0.0',
            'upload-length': '1',
            'upload-metadata': `path ${Buffer.from('intruder.bin').toString('base64')}`,
          },
        },
      ],
    ];
    for (const [url, init] of calls) {
      const { body, ...rest } = init;
      const asOther = await other.owner.request(url, {
        ...rest,
        ...(body instanceof FormData ? { body: form() } : body !== undefined ? { body } : {}),
      });
      assert.equal(asOther.status, 404, `other org ${init.method ?? 'GET'} ${url}: ${asOther.text}`);
      const asViewer = await viewer.request(url, {
        ...rest,
        ...(body instanceof FormData ? { body: form() } : body !== undefined ? { body } : {}),
      });
      assert.equal(asViewer.status, 403, `viewer ${init.method ?? 'GET'} ${url}: ${asViewer.text}`);
    }
    assert.ok(
      existsSync(join(f.root, 'config/level.dat')) &&
        !existsSync(join(f.root, 'intruder.txt')) &&
        !existsSync(join(f.root, 'intruder')) &&
        !existsSync(join(f.root, 'moved')),
    );
  });

  it('leaves body handling of other routes as it was: octet-stream 415, text buffered within the body limit', async () => {
    const octet = await owner.request('/v1/workloads', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(octet.status, 415, octet.text);
    const text = await owner.request('/v1/workloads', {
      method: 'POST',
      body: 'name: x',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.status, 400, text.text);
    assert.equal(text.body.code, 'validation_failed');
    const huge = await owner.request('/v1/workloads', {
      method: 'POST',
      body: 'x'.repeat(f.ctx.hub.config.http.bodyLimitBytes + 1),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(huge.status, 413, huge.text);
  });

  it('a zip cut short by the node going away fails, instead of ending as if it were complete', async () => {
    mkdirSync(join(f.root, 'bulk'), { recursive: true });
    writeFileSync(join(f.root, 'bulk/a.bin'), patternBytes(24 * 1024 * 1024, 8));
    await f.node.waitStatus('online');
    const res = await fetch(f.hubUrl + f.url('/download-zip?path=bulk'), { headers: authOf(owner) });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0;
    f.node.agent!.child.kill('SIGKILL');
    await assert.rejects(async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        received += chunk.value.length;
      }
    }, `the response broke off (after ${received} bytes) rather than ending cleanly`);
    assert.ok(received < 24 * 1024 * 1024);
  });

  it('answers 409 node_offline while the node is away', async () => {
    await f.node.stop();
    await f.node.waitStatus('offline');
    for (const url of [
      f.url('?path=.'),
      f.url('/download?path=config/level.dat'),
      f.url('/content?path=config/level.dat'),
    ]) {
      const res = await owner.request(url);
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.code, 'node_offline');
    }
  });
});

function authOf(c: Client): Record<string, string> {
  return { authorization: `Bearer ${c.accessToken}`, 'x-org-id': c.defaultOrg! };
}
