import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type TestNode } from './support/agents';
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
import { HubProcess } from './support/hub-process';
import { Client, strongPassword, uniqueEmail } from './support/identity';
import { freePort } from './support/redis-server';
import { createTestDatabase, tempDir, type TestDatabase, testRedisPrefix } from './support/test-env';
import { deleteRedisPrefix } from './support/test-hub';

describe('migrations survive a hub crash', () => {
  let db: TestDatabase;
  let hub: HubProcess;
  let admin: Client;
  let a: TestNode;
  let b: TestNode;
  const prefix = testRedisPrefix();

  before(async () => {
    db = await createTestDatabase();
    // One data dir across restarts: the restarted hub keeps the signing keys, so tokens stay valid.
    hub = new HubProcess(db, prefix, await freePort(), { ...FLEET_ENV, HOSTPLANE_DATA_DIR: tempDir() });
    await hub.start();
    const user = { email: uniqueEmail('admin'), password: strongPassword() };
    const boot = await hub
      .asTestHub()
      .request('/v1/auth/bootstrap', { method: 'POST', json: { ...user, organization_name: 'Ops' } });
    assert.equal(boot.status, 201, boot.text);
    admin = new Client(
      hub.asTestHub(),
      { bearer: boot.body.access_token },
      { id: boot.body.user.id, ...user },
      boot.body.organization.id,
      boot.body.organization.id,
    );
    [a, b] = (await startNodes(admin, hub.url, 2)) as [TestNode, TestNode];
  });

  after(async () => {
    if (admin && hub?.child?.exitCode === null) await removeAllInstances(admin);
    await Promise.all([a?.stop(), b?.stop()]);
    await hub?.kill('SIGTERM');
    await db?.drop();
    await deleteRedisPrefix(prefix);
  });

  it('kill -9 of the hub mid-migration: after the restart the migration resumes at its step and completes, each step ran once', async () => {
    // Ignores SIGTERM: the stop step lasts its 3 s grace, long enough to kill the hub inside it.
    const workload = await createWorkload(admin, keeperWorkload('stubborn', { stubborn: true, graceSeconds: 3 }));
    const id = await createInstance(admin, workload, 'stubborn-1', a.id);
    const digest = writeDataFile(a, id, 'save/state.bin', randomBytes(512 * 1024));
    const res = await admin.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: {} });
    assert.equal(res.status, 202, res.text);
    const m = res.body.data[0];
    await waitMigration(admin, m.id, (x) => x.status === 'running' && x.step === 'stop', 'in its stop step', 15_000);

    await hub.kill('SIGKILL');
    await hub.start();

    const done = await waitMigration(
      admin,
      m.id,
      (x) => x.status !== 'queued' && x.status !== 'running',
      'finished after the restart',
      60_000,
      250,
    );
    assert.equal(done.status, 'succeeded', `${JSON.stringify(done)}\n${hub.output.slice(-3000)}`);
    const moved = await waitInstance(admin, id, (i) => i.state === 'running', 'running on the target');
    assert.equal(moved.node_id, b.id);
    assert.equal(sha256(readDataFile(b, id, 'save/state.bin')!), digest);
    assert.equal(hasInstance(a, id), false);
    assert.deepEqual(backupsOn(a, id), []);

    // The resumed runner found the operations it had created before the crash instead of sending new ones.
    const ops = (
      await admin.request(`/v1/operations?resource=${encodeURIComponent(`/v1/migrations/${m.id}`)}&limit=100`)
    ).body.data as { kind: string; node_id: string }[];
    const count = (kind: string, node: string) => ops.filter((o) => o.kind === kind && o.node_id === node).length;
    assert.equal(count('instance.stop', a.id), 1, JSON.stringify(ops.map((o) => o.kind)));
    assert.equal(count('instance.backup.create', a.id), 1);
    assert.equal(count('instance.create', b.id), 1);
    assert.equal(count('instance.start', b.id), 1);
  });
});
