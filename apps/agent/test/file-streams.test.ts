import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STREAM_CHUNK_BYTES, StreamOpenAck } from '@hostplane/protocol';
import { AgentProcess, registeredStateDir, startAgent, tempDir, testAgentToken } from './support/agent-process';
import { jobResult, runJob } from './support/agent-jobs';
import { mkfifo, snapshotTree } from './support/file-fixtures';
import { buildSpec } from './support/instance-builders';
import { TestHub, waitFor } from './support/test-hub';

const MB = 1024 * 1024;
/** Async on purpose: a blocking child here would starve the test hub's 1 s pings and drop the tunnel. */
const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let streamSeq = 0;
const sid = (what: string) => `${what.replace(/\./g, '_')}-${++streamSeq}-${randomBytes(3).toString('hex')}`;

function refusal(ack: StreamOpenAck): { code: string; message: string } | null {
  return ack.ok ? null : ack.error;
}

describe('file streams through a real agent process', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let agent: AgentProcess;
  let stateDir: string;
  const spec = buildSpec('process');
  const id = spec.instance_id;
  let root: string;
  let outside: string;

  before(async () => {
    hub = await TestHub.start({ token });
    stateDir = registeredStateDir(hub.url, token, hub.nodeId);
    agent = startAgent(stateDir);
    await waitFor('welcome', () => hub.inventories.length > 0, 15_000);
    await jobResult(hub, 'instance.create', { spec });
    root = join(stateDir, 'instances', id, 'data');
    outside = join(stateDir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'outside secret');
    symlinkSync('/etc', join(root, 'etc-link'));
    symlinkSync('../../../outside', join(root, 'out-link'));
    mkfifo(join(root, 'pipe'));
  });

  after(async () => {
    await agent?.stop();
    await hub?.stop();
  });

  /** Reads a whole file.read/backup.read/files.archive stream, granting credit in small steps. */
  async function readAll(
    kind: string,
    params: unknown,
    initialCredit = 64 * 1024,
  ): Promise<{ ack: StreamOpenAck; bytes: Buffer; streamId: string }> {
    const streamId = sid(kind);
    const ack = await hub.openStream(streamId, kind, params, { initialCredit, autoCredit: true });
    if (!ack.ok) return { ack, bytes: Buffer.alloc(0), streamId };
    const closed = await waitFor(`${kind} close`, () => hub.streams.get(streamId)?.closed, 30_000);
    assert.equal(closed.exit_code, 0, JSON.stringify(closed));
    return { ack, bytes: hub.streamBuffer(streamId), streamId };
  }

  it('writes a 5 MB file and reads it back, never beyond the credit either way', async () => {
    const data = randomBytes(5 * MB);
    const w = sid('write');
    const ack = await hub.openStream(
      w,
      'file.write',
      { instance_id: id, path: 'world.dat', max_bytes: 10 * MB },
      { initialCredit: 1, autoCredit: false },
    );
    assert.equal(ack.ok, true, JSON.stringify(ack));
    await hub.writeInput(w, data);
    const closed = await hub.endInput(w);
    assert.equal(closed.error, undefined, JSON.stringify(closed));
    assert.equal(closed.bytes, data.length);
    assert.ok((hub.streams.get(w)?.maxInFlight ?? 0) <= (ack.ok ? ack.initial_credit : 0));
    assert.equal(sha(readFileSync(join(root, 'world.dat'))), sha(data));
    assert.deepEqual(
      readdirSync(join(stateDir, 'uploads', id)).filter((n) => n.startsWith('.write-')),
      [],
      'the staging file is gone',
    );

    // Read it with a stingy reader: exactly the credit, then more as it is granted.
    const r = sid('read');
    const credit = 100_000;
    const rack = await hub.openStream(
      r,
      'file.read',
      { instance_id: id, path: 'world.dat' },
      { initialCredit: credit, autoCredit: false },
    );
    assert.equal(rack.ok, true, JSON.stringify(rack));
    assert.equal(rack.ok && rack.meta?.size_bytes, data.length);
    assert.equal(rack.ok && rack.meta?.modified_at, statSync(join(root, 'world.dat')).mtime.toISOString());
    await waitFor('first credit used', () => hub.streamBytes(r) === credit);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(hub.streamBytes(r), credit, 'not a byte beyond the credit');
    let granted = credit;
    while (!hub.streams.get(r)?.closed) {
      if (hub.streamBytes(r) === granted) {
        hub.emit('stream:credit', { stream_id: r, bytes: 512 * 1024 });
        granted += 512 * 1024;
      }
      assert.ok(hub.streamBytes(r) <= granted);
      await new Promise((res) => setTimeout(res, 2));
    }
    assert.equal(hub.streams.get(r)?.closed?.exit_code, 0);
    for (const chunk of hub.streams.get(r)?.data ?? []) assert.ok(chunk.length <= STREAM_CHUNK_BYTES);
    assert.equal(sha(hub.streamBuffer(r)), sha(data));

    const tail = await readAll('file.read', { instance_id: id, path: 'world.dat', offset: data.length - 1000 });
    assert.deepEqual(tail.bytes, data.subarray(data.length - 1000));
    assert.deepEqual(hub.violations, []);
  });

  it('resumes an upload across two streams at the staged size, refuses a wrong offset, and commits it', async () => {
    const uploadId = `up_${randomBytes(6).toString('hex')}`;
    const staged = join(stateDir, 'uploads', id, uploadId);
    const data = randomBytes(3 * MB);
    const firstPart = data.subarray(0, Math.floor(1.2 * MB));
    let creditedBeyondDisk = 0;
    let offsetOf = 0;
    hub.onInputCredit = (_streamId, credited) => {
      // Credit comes back only for bytes already written to the staged file.
      const onDisk = statSync(staged, { throwIfNoEntry: false })?.size ?? 0;
      if (credited > onDisk - offsetOf) creditedBeyondDisk++;
    };
    const s1 = sid('upload');
    assert.equal(
      (
        await hub.openStream(
          s1,
          'file.write',
          { instance_id: id, upload_id: uploadId, offset: 0, max_bytes: 10 * MB },
          { initialCredit: 1, autoCredit: false },
        )
      ).ok,
      true,
    );
    await hub.writeInput(s1, firstPart);
    await waitFor(
      'first part credited',
      () => (hub.streams.get(s1)?.inputCredit ?? 0) - (hub.streams.get(s1)?.initialCredit ?? 0) >= firstPart.length,
    );
    hub.emit('stream:close', { stream_id: s1, reason: 'the browser went away' });
    await waitFor('staged part durable', () => statSync(staged, { throwIfNoEntry: false })?.size === firstPart.length);

    const wrong = await hub.openStream(
      sid('upload'),
      'file.write',
      { instance_id: id, upload_id: uploadId, offset: 0, max_bytes: 10 * MB },
      { initialCredit: 1, autoCredit: false },
    );
    assert.equal(refusal(wrong)?.code, 'offset_mismatch');
    assert.match(refusal(wrong)?.message ?? '', new RegExp(`${firstPart.length}`));

    offsetOf = firstPart.length;
    const s2 = sid('upload');
    assert.equal(
      (
        await hub.openStream(
          s2,
          'file.write',
          { instance_id: id, upload_id: uploadId, offset: firstPart.length, max_bytes: 10 * MB },
          { initialCredit: 1, autoCredit: false },
        )
      ).ok,
      true,
    );
    await hub.writeInput(s2, data.subarray(firstPart.length));
    const closed = await hub.endInput(s2);
    hub.onInputCredit = null;
    assert.equal(closed.bytes, data.length, JSON.stringify(closed));
    assert.equal(creditedBeyondDisk, 0, 'no credit for bytes not yet on disk');
    assert.equal(existsSync(join(root, 'uploaded.bin')), false, 'nothing in the root before the commit');

    const entry = await jobResult<{ path: string; size_bytes: number }>(hub, 'instance.files.commit-upload', {
      instance_id: id,
      upload_id: uploadId,
      path: 'uploaded.bin',
    });
    assert.deepEqual([entry.path, entry.size_bytes], ['uploaded.bin', data.length]);
    assert.equal(sha(readFileSync(join(root, 'uploaded.bin'))), sha(data));
    assert.equal(existsSync(staged), false);
    const again = await runJob(hub, 'instance.files.commit-upload', {
      instance_id: id,
      upload_id: `other_${uploadId}`,
      path: 'x.bin',
    });
    assert.equal(again.status === 'failed' && again.error.code, 'upload_not_found');
  });

  it('aborts a staged upload and refuses writes beyond max_bytes, leaving nothing behind', async () => {
    const uploadId = `up_${randomBytes(6).toString('hex')}`;
    const s = sid('upload');
    await hub.openStream(
      s,
      'file.write',
      { instance_id: id, upload_id: uploadId, offset: 0, max_bytes: 10 * MB },
      { initialCredit: 1, autoCredit: false },
    );
    await hub.writeInput(s, randomBytes(1000));
    await hub.endInput(s);
    assert.deepEqual(await jobResult(hub, 'instance.files.abort-upload', { instance_id: id, upload_id: uploadId }), {
      removed: true,
    });
    assert.deepEqual(await jobResult(hub, 'instance.files.abort-upload', { instance_id: id, upload_id: uploadId }), {
      removed: false,
    });

    const big = sid('write');
    await hub.openStream(
      big,
      'file.write',
      { instance_id: id, path: 'too-big.bin', max_bytes: 100_000 },
      { initialCredit: 1, autoCredit: false },
    );
    await hub.writeInput(big, randomBytes(300_000));
    const closed = await waitFor('refusal close', () => hub.streams.get(big)?.closed);
    assert.equal(closed.error?.code, 'file_too_large');
    assert.equal(existsSync(join(root, 'too-big.bin')), false);
    await waitFor('staging removed', () =>
      readdirSync(join(stateDir, 'uploads', id)).every((n) => !n.startsWith('.write-')),
    );

    // A staged upload that hits its limit keeps what it took, and the close says how much.
    const capped = `up_${randomBytes(6).toString('hex')}`;
    const c = sid('upload');
    await hub.openStream(
      c,
      'file.write',
      { instance_id: id, upload_id: capped, offset: 0, max_bytes: 100_000 },
      { initialCredit: 1, autoCredit: false },
    );
    await hub.writeInput(c, randomBytes(300_000));
    const cappedClose = await waitFor('refusal close', () => hub.streams.get(c)?.closed);
    assert.equal(cappedClose.error?.code, 'file_too_large');
    assert.equal(cappedClose.bytes, statSync(join(stateDir, 'uploads', id, capped)).size);
    assert.ok((cappedClose.bytes ?? Infinity) <= 100_000);
  });

  it('refuses to overwrite unless asked, and a write that ends without eof leaves the old file', async () => {
    writeFileSync(join(root, 'keep.txt'), 'original');
    const noOverwrite = await hub.openStream(
      sid('write'),
      'file.write',
      { instance_id: id, path: 'keep.txt', max_bytes: 100, overwrite: false },
      { initialCredit: 1, autoCredit: false },
    );
    assert.equal(refusal(noOverwrite)?.code, 'path_exists');
    const s = sid('write');
    await hub.openStream(
      s,
      'file.write',
      { instance_id: id, path: 'keep.txt', max_bytes: 100 },
      { initialCredit: 1, autoCredit: false },
    );
    await hub.writeInput(s, Buffer.from('half a new'));
    hub.emit('stream:close', { stream_id: s, reason: 'client gone' });
    await waitFor('staging removed', () =>
      readdirSync(join(stateDir, 'uploads', id)).every((n) => !n.startsWith('.write-')),
    );
    assert.equal(readFileSync(join(root, 'keep.txt'), 'utf8'), 'original');
  });

  it('refuses traversal, links out of the root and special files on every stream, touching nothing outside', async () => {
    const before = snapshotTree(outside);
    const hostname = readFileSync('/etc/hostname', 'utf8');
    const open = (kind: string, params: unknown) =>
      hub.openStream(sid(kind), kind, params, { initialCredit: 1000, autoCredit: true });
    assert.equal(refusal(await open('file.read', { instance_id: id, path: '../spec.json' }))?.code, 'invalid_params');
    assert.equal(refusal(await open('file.read', { instance_id: id, path: '/etc/passwd' }))?.code, 'invalid_params');
    assert.equal(
      refusal(await open('file.read', { instance_id: id, path: 'etc-link/passwd' }))?.code,
      'path_outside_root',
    );
    assert.equal(
      refusal(await open('file.read', { instance_id: id, path: 'out-link/secret.txt' }))?.code,
      'path_outside_root',
    );
    assert.equal(refusal(await open('file.read', { instance_id: id, path: 'pipe' }))?.code, 'special_file');
    assert.equal(refusal(await open('file.read', { instance_id: id, path: '.' }))?.code, 'not_a_file');
    assert.equal(
      refusal(await open('file.write', { instance_id: id, path: 'out-link/evil.txt', max_bytes: 10 }))?.code,
      'path_outside_root',
    );
    assert.equal(
      refusal(await open('file.write', { instance_id: id, path: 'etc-link/evil.txt', max_bytes: 10 }))?.code,
      'path_outside_root',
    );
    assert.equal(
      refusal(await open('file.write', { instance_id: id, path: 'pipe', max_bytes: 10 }))?.code,
      'special_file',
    );
    assert.equal(
      refusal(await open('files.archive', { instance_id: id, base: 'etc-link', paths: ['passwd'] }))?.code,
      'path_outside_root',
    );
    assert.equal(
      refusal(await open('files.archive', { instance_id: id, paths: ['out-link/secret.txt'] }))?.code,
      'path_outside_root',
    );

    // Writing to the link's own name replaces the link inside the root; its target is never written.
    mkdirSync(join(root, 'links'));
    symlinkSync('/etc/hostname', join(root, 'links', 'host'));
    const s = sid('write');
    await hub.openStream(
      s,
      'file.write',
      { instance_id: id, path: 'links/host', max_bytes: 10 },
      { initialCredit: 1, autoCredit: false },
    );
    await hub.writeInput(s, Buffer.from('mine'));
    assert.equal((await hub.endInput(s)).bytes, 4);
    assert.equal(lstatSync(join(root, 'links', 'host')).isFile(), true);
    assert.equal(readFileSync(join(root, 'links', 'host'), 'utf8'), 'mine');
    assert.equal(readFileSync('/etc/hostname', 'utf8'), hostname);
    assert.deepEqual(snapshotTree(outside), before);
  });

  it('streams a zip of chosen paths that python3 zipfile opens with the right contents', async () => {
    mkdirSync(join(root, 'pack', 'sub', 'empty'), { recursive: true });
    writeFileSync(join(root, 'pack', 'a.txt'), 'alpha\n');
    writeFileSync(join(root, 'pack', 'sub', 'b.txt'), 'beta '.repeat(10_000));
    const bin = randomBytes(300_000);
    writeFileSync(join(root, 'pack', 'sub', 'c.bin'), bin);
    symlinkSync('a.txt', join(root, 'pack', 'a-link'));
    symlinkSync('/etc/passwd', join(root, 'pack', 'sub', 'passwd-link'));
    mkfifo(join(root, 'pack', 'sub', 'fifo'));
    const { ack, bytes } = await readAll(
      'files.archive',
      { instance_id: id, base: 'pack', paths: ['a.txt', 'sub', 'a-link'] },
      16 * 1024,
    );
    assert.equal(ack.ok, true, JSON.stringify(ack));
    const zipFile = join(tempDir(), 'out.zip');
    writeFileSync(zipFile, bytes);
    const script = `
import json, sys, zipfile, hashlib, stat
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
out = {}
for i in z.infolist():
    data = z.read(i)
    kind = 'link' if stat.S_ISLNK(i.external_attr >> 16) else ('dir' if i.is_dir() else 'file')
    out[i.filename] = [kind, hashlib.sha256(data).hexdigest() if len(data) > 100 else data.decode()]
print(json.dumps({'bad': bad, 'members': out}))
`;
    const parsed = JSON.parse((await run('python3', ['-c', script, zipFile], { encoding: 'utf8' })).stdout) as {
      bad: string | null;
      members: Record<string, [string, string]>;
    };
    assert.equal(parsed.bad, null, 'every CRC checks');
    assert.deepEqual(parsed.members, {
      'a.txt': ['file', 'alpha\n'],
      'sub/': ['dir', ''],
      'sub/b.txt': ['file', sha(Buffer.from('beta '.repeat(10_000)))],
      'sub/c.bin': ['file', sha(bin)],
      'sub/empty/': ['dir', ''],
      'a-link': ['link', 'a.txt'],
    });
    assert.ok(bytes.length < 300_000 + 10_000, 'text is deflated');
  });

  it('stores an arriving backup after checking it, refuses a wrong checksum, and reads it back', async () => {
    const src = join(tempDir(), 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'level.dat'), randomBytes(50_000));
    const archive = join(tempDir(), 'b.tar.gz');
    await run('tar', ['-czf', archive, '-C', src, '.']);
    const bytes = readFileSync(archive);
    const backupId = `bk_${randomBytes(6).toString('hex')}`;

    const bad = sid('bwrite');
    assert.equal(
      (
        await hub.openStream(
          bad,
          'backup.write',
          { instance_id: id, backup_id: backupId, size_bytes: bytes.length, sha256: 'f'.repeat(64) },
          { initialCredit: 1, autoCredit: false },
        )
      ).ok,
      true,
    );
    await hub.writeInput(bad, bytes);
    assert.equal((await hub.endInput(bad)).error?.code, 'checksum_mismatch');
    assert.equal(existsSync(join(stateDir, 'backups', id, `${backupId}.tar.gz`)), false);
    assert.deepEqual(readdirSync(join(stateDir, 'backups', id)), [], 'the temp file is gone');

    const good = sid('bwrite');
    await hub.openStream(
      good,
      'backup.write',
      { instance_id: id, backup_id: backupId, size_bytes: bytes.length, sha256: sha(bytes) },
      { initialCredit: 1, autoCredit: false },
    );
    await hub.writeInput(good, bytes);
    assert.equal((await hub.endInput(good)).bytes, bytes.length);

    const { ack, bytes: back } = await readAll('backup.read', { instance_id: id, backup_id: backupId });
    assert.deepEqual(ack.ok && ack.meta, { size_bytes: bytes.length, sha256: sha(bytes) });
    assert.equal(sha(back), sha(bytes));
    const missing = await hub.openStream(
      sid('bread'),
      'backup.read',
      { instance_id: id, backup_id: 'no_such_backup' },
      { initialCredit: 10, autoCredit: true },
    );
    assert.equal(refusal(missing)?.code, 'backup_not_found');
    assert.deepEqual(hub.violations, []);
  });
});
