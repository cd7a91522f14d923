import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as PgClient } from 'pg';
import { TusUploadsService } from '../src/files/tus-uploads.service';
import { waitFor } from './support/agents';
import { Client, eventually } from './support/identity';
import { FilesFixture, patternBytes, sha256 } from './support/instance-files';

const TUS = { 'tus-resumable': '1.0.0' };
const MiB = 1024 * 1024;

describe('TUS resumable uploads into an instance', () => {
  let f: FilesFixture;
  let owner: Client;

  before(async () => {
    f = await FilesFixture.start();
    owner = f.owner;
  });
  after(() => f?.close());

  const meta = (m: Record<string, string>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
      .join(',');
  async function create(path: string, length: number): Promise<string> {
    const res = await owner.request(f.url('/tus'), {
      method: 'POST',
      headers: {
        ...TUS,
        'upload-length': String(length),
        'upload-metadata': meta({ path, filetype: 'application/octet-stream' }),
      },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('tus-resumable'), '1.0.0');
    const location = res.headers.get('location')!;
    assert.match(location, new RegExp(`^/v1/instances/${f.instanceId}/files/tus/[0-9a-f-]{36}$`));
    assert.ok(res.headers.get('upload-expires'), 'expiration is announced');
    return location;
  }
  const patch = (location: string, offset: number, body: Buffer, headers: Record<string, string> = {}) =>
    owner.request(location, {
      method: 'PATCH',
      body,
      headers: {
        ...TUS,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': String(offset),
        ...headers,
      },
    });
  const head = (location: string) => owner.request(location, { method: 'HEAD', headers: TUS });

  it('OPTIONS tells the version, extensions and the largest upload', async () => {
    const res = await owner.request(f.url('/tus'), { method: 'OPTIONS' });
    assert.equal(res.status, 204, res.text);
    assert.equal(res.headers.get('tus-resumable'), '1.0.0');
    assert.equal(res.headers.get('tus-version'), '1.0.0');
    assert.deepEqual(res.headers.get('tus-extension')?.split(','), ['creation', 'termination', 'expiration']);
    assert.equal(res.headers.get('tus-max-size'), String(f.ctx.hub.config.files.maxUploadBytes));
  });

  it('create → PATCH half → connection cut midway → HEAD gives the durable offset → PATCH the rest → the file is whole', async () => {
    const data = patternBytes(4 * MiB, 11);
    const location = await create('uploads/big.bin', data.length);
    const uploadId = location.split('/').pop()!;
    assert.equal((await owner.request(f.url('/mkdir'), { method: 'POST', json: { path: 'uploads' } })).status, 201);

    const first = await patch(location, 0, data.subarray(0, 2 * MiB));
    assert.equal(first.status, 204, first.text);
    assert.equal(first.headers.get('upload-offset'), String(2 * MiB));
    assert.equal(first.headers.get('tus-resumable'), '1.0.0');

    // The second half announced whole, 1 MiB of it sent, then the socket destroyed.
    await cutPatch(f.hubUrl + location, owner, 2 * MiB, data.subarray(2 * MiB), MiB);
    const probe = await head(location);
    assert.equal(probe.status, 200, probe.text);
    assert.equal(probe.headers.get('cache-control'), 'no-store');
    assert.equal(probe.headers.get('upload-length'), String(data.length));
    const offset = Number(probe.headers.get('upload-offset'));
    assert.ok(
      offset > 2 * MiB && offset <= 3 * MiB,
      `the bytes that arrived before the cut were kept (offset ${offset})`,
    );
    const staged = join(f.staging, uploadId);
    assert.equal(statSync(staged).size, offset, 'the offset is what the node holds on disk');
    assert.equal(sha256(readFileSync(staged)), sha256(data.subarray(0, offset)), 'and those bytes are the right ones');

    const stale = await patch(location, 2 * MiB, data.subarray(2 * MiB));
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.body.code, 'offset_mismatch');
    assert.equal(stale.headers.get('upload-offset'), String(offset));

    const rest = await patch(location, offset, data.subarray(offset));
    assert.equal(rest.status, 204, rest.text);
    assert.equal(rest.headers.get('upload-offset'), String(data.length));
    assert.equal(sha256(readFileSync(join(f.root, 'uploads/big.bin'))), sha256(data), 'committed byte-identical');
    assert.ok(!existsSync(staged), 'the staged copy became the file');
    const done = await head(location);
    assert.equal(done.headers.get('upload-offset'), String(data.length));

    const audited = await f.ctx.auditEntries({ action: 'instance.files.upload.patch' }, 3);
    assert.ok(audited.some((e) => e.details?.completed === true && e.details?.path === 'uploads/big.bin'));
    const errors = f.ctx.hub.logs.entries().filter((e) => Number(e.level) >= 50);
    assert.deepEqual(errors, [], 'a client going away is not a hub error');
  });

  it('refuses what TUS refuses: wrong version 412, wrong content type 415, offset mismatch 409, unknown upload 404', async () => {
    const location = await create('small.txt', 10);
    const noVersion = await owner.request(location, { method: 'HEAD' });
    assert.equal(noVersion.status, 412);
    assert.equal(noVersion.headers.get('tus-version'), '1.0.0');
    assert.equal(noVersion.headers.get('tus-resumable'), '1.0.0');
    const oldVersion = await owner.request(f.url('/tus'), {
      method: 'POST',
      headers: { 'tus-resumable': '0.2.2', 'upload-length': '1', 'upload-metadata': meta({ path: 'x' }) },
    });
    assert.equal(oldVersion.status, 412, oldVersion.text);
    const wrongType = await patch(location, 0, Buffer.from('0123456789'), {
      'content-type': 'application/octet-stream',
    });
    assert.equal(wrongType.status, 415, wrongType.text);
    const mismatch = await patch(location, 5, Buffer.from('56789'));
    assert.equal(mismatch.status, 409, mismatch.text);
    assert.equal(mismatch.headers.get('upload-offset'), '0');
    const tooLong = await patch(location, 0, Buffer.from('0123456789ABC'));
    assert.equal(tooLong.status, 413, tooLong.text);
    assert.equal(
      (await head(location)).headers.get('upload-offset'),
      '0',
      'nothing was appended by the refused requests',
    );
    assert.equal((await patch(location, 0, Buffer.from('0123456789'))).status, 204);
    assert.equal(readFileSync(join(f.root, 'small.txt'), 'utf8'), '0123456789');

    const unknown = await head(f.url('/tus/00000000-0000-4000-8000-000000000000'));
    assert.equal(unknown.status, 404);
    const other = await f.ctx.newOrg();
    const foreign = await other.owner.request(location, { method: 'HEAD', headers: TUS });
    assert.equal(foreign.status, 404, 'another organization cannot see the upload');
    const foreignPatch = await other.owner.request(location, {
      method: 'PATCH',
      body: Buffer.from('x'),
      headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': '10' },
    });
    assert.equal(foreignPatch.status, 404);
  });

  it('refuses bad targets: traversal at creation, a link to outside the root at commit', async () => {
    for (const bad of ['../x', '/etc/passwd', 'a/../../x']) {
      const res = await owner.request(f.url('/tus'), {
        method: 'POST',
        headers: { ...TUS, 'upload-length': '3', 'upload-metadata': meta({ path: bad }) },
      });
      assert.equal(res.status, 400, `${bad}: ${res.text}`);
    }
    const byName = await owner.request(f.url('/tus'), {
      method: 'POST',
      headers: { ...TUS, 'upload-length': '3', 'upload-metadata': meta({ filename: '../../x' }) },
    });
    assert.equal(byName.status, 400, byName.text);
    const noTarget = await owner.request(f.url('/tus'), { method: 'POST', headers: { ...TUS, 'upload-length': '3' } });
    assert.equal(noTarget.status, 400, noTarget.text);

    const { outside } = f.plantEscape('tus-escape');
    const location = await create('tus-escape/planted.txt', 3);
    const res = await patch(location, 0, Buffer.from('abc'));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.code, 'invalid_path');
    assert.ok(!existsSync(join(outside, 'planted.txt')), 'nothing was written outside the root');
  });

  it('an empty file is complete at creation; a filename goes into ?path=', async () => {
    const res = await owner.request(f.url('/tus?path=uploads'), {
      method: 'POST',
      headers: { ...TUS, 'upload-length': '0', 'upload-metadata': meta({ filename: 'empty.txt' }) },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(statSync(join(f.root, 'uploads/empty.txt')).size, 0);
  });

  it('termination and expiry remove the record and the staged bytes on the node', async () => {
    const terminated = await create('t.bin', 100);
    assert.equal((await patch(terminated, 0, patternBytes(40))).status, 204);
    const stagedT = join(f.staging, terminated.split('/').pop()!);
    assert.equal(statSync(stagedT).size, 40);
    const del = await owner.request(terminated, { method: 'DELETE', headers: TUS });
    assert.equal(del.status, 204, del.text);
    assert.equal((await head(terminated)).status, 404);
    await eventually(async () => !existsSync(stagedT), 'staged bytes of the terminated upload removed', 10_000);

    const expiring = await create('e.bin', 100);
    assert.equal((await patch(expiring, 0, patternBytes(30))).status, 204);
    const id = expiring.split('/').pop()!;
    const stagedE = join(f.staging, id);
    assert.ok(existsSync(stagedE));
    const pg = new PgClient({ connectionString: f.ctx.hub.database.url });
    await pg.connect();
    try {
      await pg.query(`UPDATE file_uploads SET expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    } finally {
      await pg.end();
    }
    assert.equal((await head(expiring)).status, 404, 'an expired upload is gone for clients at once');
    const removed = await f.ctx.hub.app.get(TusUploadsService).sweepExpired();
    assert.ok(removed >= 1);
    await waitFor(
      'staged bytes of the expired upload removed',
      async () => (existsSync(stagedE) ? undefined : true),
      10_000,
    );
  });
});

/** Sends a PATCH announcing `body` whole, writes `sendBytes` of it, then destroys the socket. */
async function cutPatch(url: string, c: Client, offset: number, body: Buffer, sendBytes: number): Promise<void> {
  const req = httpRequest(url, {
    method: 'PATCH',
    agent: false,
    headers: {
      ...TUS,
      authorization: `Bearer ${c.accessToken}`,
      'x-org-id': c.defaultOrg!,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      'content-length': String(body.length),
    },
  });
  req.on('error', () => undefined);
  await new Promise<void>((resolve) => req.write(body.subarray(0, sendBytes), () => resolve()));
  // Let the hub pass what arrived to the agent, then cut the connection mid-body.
  await new Promise((r) => setTimeout(r, 500));
  req.destroy();
}
