import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { HubProcess } from './support/hub-process';
import { Client, strongPassword, uniqueEmail } from './support/identity';
import { freePort } from './support/redis-server';
import { createTestDatabase, tempDir, TestDatabase, testRedisPrefix } from './support/test-env';
import { deleteRedisPrefix } from './support/test-hub';

const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const E = '/v1/machines/ephemeral';

describe('an ephemeral clone outlives a hub restart and is still deleted at its TTL', () => {
  let db: TestDatabase;
  let hub: HubProcess;
  let admin: Client;
  let node: TestNode;
  const prefix = testRedisPrefix();
  const state = join(mkdtempSync(join(tmpdir(), 'hp-ephem-restart-')), 's');
  const simEnv = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
    HOSTPLANE_SIM_PRL_IP_DELAY_MS: '500',
  };
  const simVm = (name: string) =>
    Object.values(
      JSON.parse(readFileSync(join(state, 'parallels.json'), 'utf8')).vms as Record<string, { name: string }>,
    ).find((v) => v.name === name);
  const deleteCalls = () =>
    readFileSync(join(state, 'calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { tool: string; argv: string[]; at: string })
      .filter((c) => c.tool === 'prlctl' && c.argv[0] === 'delete');

  before(async () => {
    execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'ci-template', '-d', 'ubuntu'], {
      env: { ...process.env, ...simEnv },
    });
    db = await createTestDatabase();
    // One data dir: the restarted hub keeps the signing keys, so the admin's token stays valid.
    hub = new HubProcess(db, prefix, await freePort(), { ...FAST_JOBS_ENV, HOSTPLANE_DATA_DIR: tempDir() });
    await hub.start();
    const user = { email: uniqueEmail('admin'), password: strongPassword() };
    const boot = await hub
      .asTestHub()
      .request('/v1/auth/bootstrap', { method: 'POST', json: { ...user, organization_name: 'CI' } });
    assert.equal(boot.status, 201, boot.text);
    admin = new Client(
      hub.asTestHub(),
      { bearer: boot.body.access_token },
      { id: boot.body.user.id, ...user },
      boot.body.organization.id,
      boot.body.organization.id,
    );
    node = await registerNode(admin, hub.url, simEnv);
    node.start();
    await node.waitStatus('online');
    await waitFor('the parallels driver', async () =>
      (await node.node()).drivers.some(
        (d: { name: string; available: boolean }) => d.name === 'parallels' && d.available,
      )
        ? true
        : undefined,
    );
  });

  after(async () => {
    await node?.stop();
    await hub?.kill('SIGTERM');
    await db?.drop();
    await deleteRedisPrefix(prefix);
  });

  it('the hub is killed, a new one starts, the node is offline at expiry: the clone is deleted once it is back', async () => {
    const res = await admin.request(E, { method: 'POST', json: { template: 'ci-template', ttl_seconds: 60 } });
    assert.equal(res.status, 202, res.text);
    const op = await waitForOperation(admin, res.body.id, 60_000);
    assert.equal(op.status, 'succeeded', JSON.stringify(op));
    const clone = op.result.data;
    assert.ok(clone.ip);
    const expiresAt = Date.parse(clone.expires_at);

    await hub.kill('SIGKILL');
    await node.stop();
    assert.ok(simVm(clone.name), 'the clone is still there while no hub runs');
    await new Promise((r) => setTimeout(r, 2000));
    await hub.start();

    // Past its TTL the new hub marks it for deletion, but its node is offline: it waits.
    await waitFor(
      'the clone to expire',
      async () => {
        const r = await admin.request(`${E}/${clone.ephemeral_id}`);
        assert.equal(r.status, 200, r.text);
        return r.body.status === 'deleting' ? r.body : undefined;
      },
      Math.max(0, expiresAt - Date.now()) + 20_000,
      500,
    );
    assert.ok(Date.now() >= expiresAt, 'not before its TTL');
    assert.ok(simVm(clone.name), 'still on the offline node');

    node.start();
    await waitFor(
      'the clone to be deleted on the host',
      async () => (simVm(clone.name) ? undefined : true),
      60_000,
      250,
    );
    const row = await waitFor('the row to say deleted', async () => {
      const r = await admin.request(`${E}/${clone.ephemeral_id}`);
      return r.body.status === 'deleted' ? r.body : undefined;
    });
    assert.equal(row.delete_reason, 'expired');
    const deletes = deleteCalls();
    assert.equal(deletes.length, 1, JSON.stringify(deletes));
    assert.deepEqual(deletes[0].argv, ['delete', clone.machine_id]);
    assert.ok(Date.parse(deletes[0].at) >= expiresAt, `deleted at ${deletes[0].at}, expiring ${clone.expires_at}`);
  });
});
