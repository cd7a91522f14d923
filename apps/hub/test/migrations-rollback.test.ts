import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type TestNode, waitFor, waitForOperation } from './support/agents';
import {
  backupsOn,
  createInstance,
  createWorkload,
  FLEET_ENV,
  hasInstance,
  keeperWorkload,
  readDataFile,
  removeAllInstances,
  sha256,
  startNodes,
  waitInstance,
  waitMigration,
  writeDataFile,
} from './support/fleet';
import { Client, IdentityContext } from './support/identity';

describe('migration rollback after the backup: the source keeps the instance and its data', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;

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

  it('cancel while the transfer waits for the target: archives removed, the instance runs again on the source; the target gets its clean-up when it returns', async () => {
    const workload = await createWorkload(owner, keeperWorkload('stubborn', { stubborn: true, graceSeconds: 2 }));
    const id = await createInstance(owner, workload, 'stubborn-1', a.id);
    const digest = writeDataFile(a, id, 'data.bin', randomBytes(256 * 1024));
    const res = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { target_node_id: b.id } });
    assert.equal(res.status, 202, res.text);
    const m = res.body.data[0];
    // The target goes away while the source stops: backup done, the transfer waits for the target.
    await waitMigration(owner, m.id, (x) => x.step === 'stop', 'stopping');
    await b.stop();
    const waiting = await waitMigration(owner, m.id, (x) => x.step === 'transfer', 'waiting to transfer', 20_000);
    assert.ok(waiting.bytes.total > 0, 'the backup is made');
    assert.ok(
      backupsOn(a, id).some((f) => f.endsWith('.tar.gz')),
      'the archive is on the source',
    );

    const cancel = await owner.request(`/v1/migrations/${m.id}/cancel`, { method: 'POST' });
    assert.equal(cancel.status, 202, cancel.text);
    const done = await waitMigration(owner, m.id, (x) => x.status === 'cancelled', 'cancelled', 20_000);
    assert.equal(done.error.step, 'transfer');
    const back = await waitInstance(
      owner,
      id,
      (i) => i.state === 'running' && !i.migrating,
      'running again on the source',
      20_000,
    );
    assert.equal(back.node_id, a.id);
    assert.equal(sha256(readDataFile(a, id, 'data.bin')!), digest, 'the data is untouched');
    await waitFor('source archive removed', async () => (backupsOn(a, id).length === 0 ? true : undefined), 10_000);

    // The rollback's jobs for the target waited in its queue; they run when it is back.
    b.start();
    await b.waitStatus('online');
    const ops = (
      await owner.request(`/v1/operations?resource=${encodeURIComponent(`/v1/migrations/${m.id}`)}&node_id=${b.id}`)
    ).body.data as { id: string; kind: string }[];
    assert.deepEqual(ops.map((o) => o.kind).sort(), ['instance.backup.delete', 'instance.delete']);
    for (const op of ops) assert.equal((await waitForOperation(owner, op.id, 20_000)).status, 'succeeded');
    assert.equal(hasInstance(b, id), false);
    assert.deepEqual(backupsOn(b, id), []);
    assert.equal((await owner.request(`/v1/instances/${id}`)).body.node_id, a.id);
  });
});
