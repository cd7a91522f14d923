import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, TestNode, waitFor, waitForOperation } from './support/agents';
import {
  agentArchive,
  backupEvents,
  download,
  instanceRoot,
  newInstance,
  onlineNode,
  newWorkload,
  sha256,
  sha256OfFile,
  writeFiles,
} from './support/backups';
import { Client, IdentityContext } from './support/identity';
import { tempDir } from './support/test-env';

describe('instance backups kept on the node (real agent, process driver)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let workloadId: string;
  let instance: any;
  let root: string;
  let backup: any;

  before(async () => {
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, HOSTPLANE_BACKUPS_MAX_PER_INSTANCE: '3' } });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await onlineNode(owner, ctx.hub.url);
    workloadId = await newWorkload(owner);
    instance = await newInstance(owner, workloadId, 'backup-me', true);
    root = instanceRoot(node, instance.id);
    writeFiles(root, {
      'world.txt': 'original world\n',
      'config/server.properties': 'motd=hello\n',
      'data/region.bin': randomBytes(256 * 1024),
      'cache/big.tmp': randomBytes(64 * 1024),
    });
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('a backup of a running instance becomes ready with the SHA-256 and size of the archive on the node', async () => {
    const res = await owner.request(`/v1/instances/${instance.id}/backups`, {
      method: 'POST',
      json: { name: 'before change', ignore: ['cache/'] },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.headers.get('location'), `/v1/operations/${res.body.id}`);
    assert.equal(res.body.kind, 'backup.create');
    assert.equal(res.body.backup.status, 'creating');
    assert.equal(res.body.backup.storage, 'agent');
    const op = await waitForOperation(owner, res.body.id, 30_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    assert.equal(op.progress.percent, 100);

    backup = (await owner.request(`/v1/instances/${instance.id}/backups/${res.body.backup.id}`)).body;
    assert.equal(backup.status, 'ready');
    assert.match(backup.sha256, /^[0-9a-f]{64}$/);
    assert.equal(backup.file_count, 3, 'cache/ was left out');
    assert.ok(backup.completed_at);
    const archive = agentArchive(node, instance.id, backup.id);
    assert.equal(sha256OfFile(archive), backup.sha256);
    assert.equal(readFileSync(archive).length, backup.size_bytes);

    const list = await owner.request(`/v1/instances/${instance.id}/backups`);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((b: any) => b.id),
      [backup.id],
    );
    const jobs = await owner.request(
      `/v1/operations?kind=instance.backup.create&resource=${encodeURIComponent(`/v1/instances/${instance.id}/backups/${backup.id}`)}`,
    );
    assert.equal(jobs.body.total, 1, 'the node job is listed under the backup');
    const statuses = await waitFor(
      'status events',
      async () => {
        const seen = (await backupEvents(ctx.hub, 'backup.status', backup.id)).map((e) => e.status);
        return seen.length >= 2 ? seen : undefined;
      },
      5000,
    );
    assert.deepEqual(statuses, ['creating', 'ready']);
  });

  it('downloads byte for byte what the node archived, with its length and checksum headers', async () => {
    const res = await download(owner, `/v1/instances/${instance.id}/backups/${backup.id}/download`);
    assert.equal(res.status, 200, res.body.toString());
    const archive = readFileSync(agentArchive(node, instance.id, backup.id));
    assert.ok(res.body.equals(archive), 'identical bytes');
    assert.equal(sha256(res.body), backup.sha256);
    assert.equal(res.headers.get('content-length'), String(backup.size_bytes));
    assert.equal(res.headers.get('content-type'), 'application/gzip');
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /^attachment; filename="backup-me-\d{8}-\d{6}\.tar\.gz"$/,
    );
    assert.equal(res.headers.get('x-checksum-sha256'), backup.sha256);
    assert.equal(res.headers.get('digest'), `sha-256=${Buffer.from(backup.sha256, 'hex').toString('base64')}`);
    const file = join(tempDir(), 'b.tar.gz');
    writeFileSync(file, res.body);
    const names = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.ok(
      names.some((n) => n.endsWith('world.txt')) && names.some((n) => n.endsWith('region.bin')),
      names.join(', '),
    );
    assert.ok(!names.some((n) => n.includes('big.tmp')), 'ignored paths are not in the archive');
    const audit = await ctx.auditEntries({ action: 'backup.download' });
    assert.equal(audit[0]?.target_id, backup.id);
  });

  it('refuses to restore into a running instance and changes nothing', async () => {
    writeFiles(root, { 'world.txt': 'changed world\n', 'new.txt': 'added after the backup\n' });
    const res = await owner.request(`/v1/instances/${instance.id}/backups/${backup.id}/restore`, { method: 'POST' });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, 'instance_not_stopped');
    assert.match(res.body.error, /running/);
    assert.equal(readFileSync(join(root, 'world.txt'), 'utf8'), 'changed world\n');
    const restores = await owner.request(`/v1/operations?kind=instance.backup.restore`);
    assert.equal(restores.body.total, 0, 'no restore job was queued');
  });

  it('restores a stopped instance: the backed-up content is back and later files are gone', async () => {
    const stop = await owner.request(`/v1/instances/${instance.id}/stop`, { method: 'POST' });
    assert.equal((await waitForOperation(owner, stop.body.id, 20_000)).status, 'succeeded');
    const res = await owner.request(`/v1/instances/${instance.id}/backups/${backup.id}/restore`, {
      method: 'POST',
      json: { truncate: true },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.kind, 'backup.restore');
    const op = await waitForOperation(owner, res.body.id, 30_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    assert.equal(op.result.file_count, 3);
    assert.equal(readFileSync(join(root, 'world.txt'), 'utf8'), 'original world\n');
    assert.equal(readFileSync(join(root, 'config/server.properties'), 'utf8'), 'motd=hello\n');
    assert.ok(!existsSync(join(root, 'new.txt')), 'truncate removed what the backup did not have');
  });

  it('cancelling the node job fails the backup as cancelled and leaves no archive', async () => {
    writeFiles(root, { 'huge.bin': randomBytes(24 * 1024 * 1024) });
    try {
      const res = await owner.request(`/v1/instances/${instance.id}/backups`, { method: 'POST', json: {} });
      assert.equal(res.status, 202, res.text);
      const bid = res.body.backup.id;
      const jobs = await owner.request(
        `/v1/operations?kind=instance.backup.create&resource=${encodeURIComponent(`/v1/instances/${instance.id}/backups/${bid}`)}`,
      );
      const cancel = await owner.request(`/v1/operations/${jobs.body.data[0].id}/cancel`, { method: 'POST' });
      assert.ok([200, 202].includes(cancel.status), cancel.text);
      const op = await waitForOperation(owner, res.body.id, 30_000);
      assert.equal(op.status, 'cancelled', JSON.stringify(op));
      const b = (await owner.request(`/v1/instances/${instance.id}/backups/${bid}`)).body;
      assert.equal(b.status, 'failed');
      assert.equal(b.error.code, 'cancelled');
      assert.ok(!existsSync(agentArchive(node, instance.id, bid)));
    } finally {
      rmSync(join(root, 'huge.bin'));
    }
  });

  it('keeps at most the configured number of backups; a locked one must be unlocked before it is deleted', async () => {
    const locked = await owner.request(`/v1/instances/${instance.id}/backups`, {
      method: 'POST',
      json: { locked: true },
    });
    assert.equal(locked.status, 202, locked.text);
    const third = await owner.request(`/v1/instances/${instance.id}/backups`, { method: 'POST', json: {} });
    assert.equal(third.status, 202, third.text);
    const over = await owner.request(`/v1/instances/${instance.id}/backups`, { method: 'POST', json: {} });
    assert.equal(over.status, 409, over.text);
    assert.equal(over.body.code, 'backup_limit_reached');
    await waitForOperation(owner, locked.body.id);
    await waitForOperation(owner, third.body.id);
    assert.match(locked.body.backup.name, /^Backup \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    const lockedPath = `/v1/instances/${instance.id}/backups/${locked.body.backup.id}`;
    const refused = await owner.request(lockedPath, { method: 'DELETE' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'backup_locked');
    const unlocked = await owner.request(lockedPath, { method: 'PATCH', json: { locked: false } });
    assert.equal(unlocked.status, 200, unlocked.text);
    assert.equal(unlocked.body.locked, false);
    const del = await owner.request(lockedPath, { method: 'DELETE' });
    assert.equal(del.status, 202, del.text);
    assert.equal((await waitForOperation(owner, del.body.id)).status, 'succeeded');
    await waitFor('row gone', async () => ((await owner.request(lockedPath)).status === 404 ? true : undefined), 5000);
    assert.ok(!existsSync(agentArchive(node, instance.id, locked.body.backup.id)), 'the archive left the node');
    const again = await owner.request(`/v1/instances/${instance.id}/backups`, { method: 'POST', json: {} });
    assert.equal(again.status, 202, 'room for one more after the delete');
    await waitForOperation(owner, again.body.id);
  });

  it('answers bad input with 400 and unknown or foreign backups with 404', async () => {
    const base = `/v1/instances/${instance.id}/backups`;
    const bad = await owner.request(base, { method: 'POST', json: { ignore: ['ok', 'bad\u0000'] } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_text', 'NUL is refused for every route before validation');
    assert.equal((await owner.request(base, { method: 'POST', json: { nope: 1 } })).status, 400);
    assert.equal((await owner.request(`${base}/not-a-uuid`)).status, 400);
    assert.equal((await owner.request(`${base}/${randomUUID()}`)).status, 404);
    assert.equal(
      (await owner.request(`${base}/${backup.id}/restore`, { method: 'POST', json: { truncate: 'yes' } })).status,
      400,
    );

    const other = await ctx.newOrg();
    const routes: [string, string, unknown?][] = [
      ['GET', base],
      ['POST', base, {}],
      ['GET', `${base}/${backup.id}`],
      ['PATCH', `${base}/${backup.id}`, { locked: true }],
      ['GET', `${base}/${backup.id}/download`],
      ['POST', `${base}/${backup.id}/restore`, {}],
      ['DELETE', `${base}/${backup.id}`],
    ];
    for (const [method, path, json] of routes) {
      const res = await other.owner.request(path, { method, ...(json ? { json } : {}) });
      assert.equal(res.status, 404, `${method} ${path} from another organization: ${res.text}`);
    }
    assert.equal((await owner.request(`${base}/${backup.id}`)).body.locked, false, 'nothing changed');
  });

  it('lets a viewer list backups but not download, create or restore them', async () => {
    const viewer = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'viewer');
    const base = `/v1/instances/${instance.id}/backups`;
    assert.equal((await viewer.request(base)).status, 200);
    assert.equal((await viewer.request(`${base}/${backup.id}/download`)).status, 403);
    assert.equal((await viewer.request(base, { method: 'POST', json: {} })).status, 403);
    assert.equal((await viewer.request(`${base}/${backup.id}/restore`, { method: 'POST' })).status, 403);
  });
});
