import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BackupSweeper } from '../src/backups/backup-sweeper';
import { type TestNode, waitForOperation } from './support/agents';
import { agentArchive, download, instanceRoot, newWorkload, sha256 } from './support/backups';
import { FLEET_ENV, removeAllInstances, startNodes, waitInstance, waitMigration } from './support/fleet';
import { Client, IdentityContext } from './support/identity';

describe('node-stored backups follow their instance through a migration', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;
  let movedId: string;

  before(async () => {
    ctx = await IdentityContext.start({ env: FLEET_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    [a, b] = (await startNodes(owner, ctx.hub.url, 2)) as [TestNode, TestNode];
  });
  after(async () => {
    if (owner) await removeAllInstances(owner);
    await Promise.all([a?.stop(), b?.stop()]);
    await ctx?.close();
  });

  it('a backup made before the migration is on the target, downloadable and restorable after it; the source keeps no copy', async () => {
    const workloadId = await newWorkload(owner);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'wanderer', workload_id: workloadId, node_id: a.id },
    });
    assert.equal(created.status, 202, created.text);
    const id = created.body.instance.id as string;
    await waitInstance(owner, id, (i) => i.state === 'running', 'running on the source');
    writeFileSync(join(instanceRoot(a, id), 'world.txt'), 'the original world');

    const made = await owner.request(`/v1/instances/${id}/backups`, {
      method: 'POST',
      json: { name: 'before the move' },
    });
    assert.equal(made.status, 202, made.text);
    assert.equal((await waitForOperation(owner, made.body.id, 30_000)).status, 'succeeded');
    const backup = (await owner.request(`/v1/instances/${id}/backups/${made.body.backup.id}`)).body;
    assert.equal(backup.status, 'ready');
    assert.equal(backup.node_id, a.id);

    const mig = await owner.request(`/v1/nodes/${a.id}/migrate`, {
      method: 'POST',
      json: { instance_ids: [id], target_node_id: b.id },
    });
    assert.equal(mig.status, 202, mig.text);
    const done = await waitMigration(
      owner,
      mig.body.data[0].id,
      (m) => m.status !== 'queued' && m.status !== 'running',
      'finished',
      60_000,
    );
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    await waitInstance(owner, id, (i) => i.node_id === b.id && i.state === 'running', 'running on the target');

    const after = (await owner.request(`/v1/instances/${id}/backups/${backup.id}`)).body;
    assert.equal(after.status, 'ready');
    assert.equal(after.node_id, b.id, 'the row follows the file');
    assert.ok(existsSync(agentArchive(b, id, backup.id)), 'the archive is on the target');
    assert.ok(!existsSync(agentArchive(a, id, backup.id)), 'and no longer on the source');

    const file = await download(owner, `/v1/instances/${id}/backups/${backup.id}/download`);
    assert.equal(file.status, 200);
    assert.equal(sha256(file.body), backup.sha256);

    writeFileSync(join(instanceRoot(b, id), 'world.txt'), 'changed after the move');
    const stop = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    assert.equal((await waitForOperation(owner, stop.body.id, 20_000)).status, 'succeeded');
    const restore = await owner.request(`/v1/instances/${id}/backups/${backup.id}/restore`, {
      method: 'POST',
      json: {},
    });
    assert.equal(restore.status, 202, restore.text);
    assert.equal((await waitForOperation(owner, restore.body.id, 30_000)).status, 'succeeded');
    assert.equal(readFileSync(join(instanceRoot(b, id), 'world.txt'), 'utf8'), 'the original world');
    movedId = id;
  });

  it('a backup whose archive vanished from its node stops claiming ready once the node reports its backups', async () => {
    const made = await owner.request(`/v1/instances/${movedId}/backups`, { method: 'POST', json: { name: 'to lose' } });
    assert.equal(made.status, 202, made.text);
    assert.equal((await waitForOperation(owner, made.body.id, 30_000)).status, 'succeeded');
    const id = made.body.backup.id as string;
    rmSync(agentArchive(b, movedId, id));
    const sweeper = ctx.hub.app.get(BackupSweeper);
    await sweeper.sweep();
    assert.equal(
      (await owner.request(`/v1/instances/${movedId}/backups/${id}`)).body.status,
      'ready',
      'no listing newer than the backup yet',
    );

    await new Promise((r) => setTimeout(r, 5500));
    const refreshed = await owner.request(`/v1/nodes/${b.id}/inventory/refresh`, { method: 'POST' });
    assert.equal(refreshed.status, 200, refreshed.text);
    await sweeper.sweep();
    const gone = (await owner.request(`/v1/instances/${movedId}/backups/${id}`)).body;
    assert.equal(gone.status, 'failed');
    assert.equal(gone.error.code, 'backup_missing');
    assert.match(gone.error.message, /no longer on node/);
    const first = (await owner.request(`/v1/instances/${movedId}/backups?limit=50`)).body.data.find(
      (x: { name: string }) => x.name === 'before the move',
    );
    assert.equal(first.status, 'ready', 'the archive that is there stays ready');
    const dl = await download(owner, `/v1/instances/${movedId}/backups/${id}/download`);
    assert.equal(dl.status, 409);
  });
});
