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
  waitMigration,
  writeDataFile,
} from './support/fleet';
import { Client, IdentityContext } from './support/identity';

const DATA_BYTES = 4 * 1024 * 1024;
/** Random data does not compress: the archive is about DATA_BYTES, so each transfer takes about 2 s. */
const RATE = 2 * 1024 * 1024;
const STALL_SECONDS = 4;

/** Polls often (the figures below are measured with it): the first time `ok` holds, in ms since `from`. */
async function msUntil(what: string, from: number, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  await waitFor(what, async () => ((await probe()) ? true : undefined), timeoutMs, 25);
  return Date.now() - from;
}

function summary(name: string, ms: number[]): string {
  const s = [...ms].sort((x, y) => x - y);
  return `${name}: n=${s.length} min=${s[0]} median=${s[Math.floor(s.length / 2)]} max=${s[s.length - 1]} ms`;
}

describe('migrations always end: cancel, a dead target, a stalled step', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;
  let instanceId: string;
  let digest: string;

  before(async () => {
    ctx = await IdentityContext.start({
      env: {
        ...FLEET_ENV,
        HOSTPLANE_MIGRATIONS_TRANSFER_BYTES_PER_SECOND: String(RATE),
        HOSTPLANE_MIGRATIONS_STALL_SECONDS: String(STALL_SECONDS),
        // A frozen agent keeps its socket long past the watchdog: the stall, not the heartbeat, must end the step.
        HOSTPLANE_AGENT_OFFLINE_AFTER_MISSED: '20',
      },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    [a, b] = (await startNodes(owner, ctx.hub.url, 2)) as [TestNode, TestNode];
    const workload = await createWorkload(owner, keeperWorkload('mover'));
    instanceId = await createInstance(owner, workload, 'mover-1', a.id);
    digest = writeDataFile(a, instanceId, 'data.bin', randomBytes(DATA_BYTES));
  });
  after(async () => {
    if (b?.agent) b.agent.child.kill('SIGCONT');
    if (owner) await removeAllInstances(owner);
    await Promise.all([a?.stop(), b?.stop()]);
    await ctx?.close();
  });

  /** The instance's process runs on the source again (it stays `migrating` until the migration has ended). */
  const runningOnSource = async () => {
    const i = (await owner.request(`/v1/instances/${instanceId}`)).body;
    return i.state === 'running' && i.node_id === a.id;
  };

  async function startMigration(): Promise<string> {
    const res = await owner.request(`/v1/nodes/${a.id}/migrate`, {
      method: 'POST',
      json: { instance_ids: [instanceId], target_node_id: b.id },
    });
    assert.equal(res.status, 202, res.text);
    return res.body.data[0].id;
  }

  /** The target is back and ran what the rollback left for it: no instance, no archive, no partial upload. */
  async function assertTargetClean(migrationId: string): Promise<void> {
    if (!b.agent || b.agent.child.exitCode !== null || b.agent.child.signalCode !== null) {
      b.start();
      await b.waitStatus('online');
    }
    const ops = (
      await owner.request(
        `/v1/operations?resource=${encodeURIComponent(`/v1/migrations/${migrationId}`)}&node_id=${b.id}`,
      )
    ).body.data as { id: string; kind: string }[];
    assert.deepEqual(
      ops.map((o) => o.kind).sort(),
      ['instance.backup.delete', 'instance.delete'],
      'the rollback removes what reached the target',
    );
    for (const op of ops) assert.equal((await waitForOperation(owner, op.id, 20_000)).status, 'succeeded');
    assert.equal(hasInstance(b, instanceId), false, 'no instance directory on the target');
    assert.deepEqual(backupsOn(b, instanceId), [], 'no archive or partial upload on the target');
    await waitFor(
      'source archive removed',
      async () => (backupsOn(a, instanceId).length === 0 ? true : undefined),
      10_000,
    );
  }

  it('10 cancels at random moments of the transfer, some right after the target was killed or froze: each ends cancelled within 10 s, the source runs again, the target is clean', async () => {
    const toCancelled: number[] = [];
    const toRunning: number[] = [];
    const rounds: string[] = [];
    // SIGKILL: the target's socket closes. SIGSTOP: a host that hangs, its connection open and silent.
    const faults = new Map<number, NodeJS.Signals>([
      [1, 'SIGKILL'],
      [3, 'SIGSTOP'],
      [4, 'SIGKILL'],
      [7, 'SIGKILL'],
      [8, 'SIGSTOP'],
    ]);
    for (let round = 0; round < 10; round++) {
      const id = await startMigration();
      const inTransfer = await waitMigration(
        owner,
        id,
        (x) => x.step === 'transfer' && x.bytes.transferred > 0,
        'transferring',
        20_000,
        25,
      );
      assert.ok(inTransfer.bytes.total >= DATA_BYTES, 'the archive holds the data');
      // Somewhere in the ~2 s copy.
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1200)));
      const fault = faults.get(round);
      if (fault) b.agent!.child.kill(fault);
      const t0 = Date.now();
      const cancel = await owner.request(`/v1/migrations/${id}/cancel`, { method: 'POST' });
      assert.equal(cancel.status, 202, `round ${round}: ${cancel.text}`);
      // Measured together: the instance runs on the source before the migration has finished its clean-up.
      const [cancelledMs, runningMs] = await Promise.all([
        msUntil(
          `round ${round} cancelled`,
          t0,
          async () => (await owner.request(`/v1/migrations/${id}`)).body.status === 'cancelled',
          10_000,
        ),
        msUntil(`round ${round} running on the source`, t0, runningOnSource, 10_000),
      ]);
      toCancelled.push(cancelledMs);
      toRunning.push(runningMs);
      const done = (await owner.request(`/v1/migrations/${id}`)).body;
      assert.equal(done.error.code, 'cancelled', JSON.stringify(done.error));
      assert.equal(done.error.step, 'transfer');
      const released = (await owner.request(`/v1/instances/${instanceId}`)).body;
      assert.equal(released.migrating, false, 'the instance is released with the migration');
      rounds.push(`${round}:${fault ?? 'none'} ${toCancelled.at(-1)}/${toRunning.at(-1)}`);
      if (fault === 'SIGKILL') await b.agent!.exited;
      if (fault === 'SIGSTOP') b.agent!.child.kill('SIGCONT');
      await assertTargetClean(id);
    }
    assert.equal(sha256(readDataFile(a, instanceId, 'data.bin')!), digest, 'the data on the source is untouched');
    console.log(
      `[migrations-cancel] ${summary('cancel → cancelled', toCancelled)}; ${summary('cancel → running on the source', toRunning)}; per round (fault cancelled/running ms): ${rounds.join(', ')}`,
    );
  });

  it('a target killed mid-copy fails the transfer at once: the source runs again within 5 s, and the target is cleaned when it returns', async () => {
    const id = await startMigration();
    await waitMigration(owner, id, (x) => x.step === 'transfer' && x.bytes.transferred > 0, 'transferring', 20_000, 25);
    const t0 = Date.now();
    b.agent!.child.kill('SIGKILL');
    const running = await msUntil('running on the source', t0, runningOnSource, 5_000);
    const done = await waitMigration(owner, id, (x) => x.status === 'failed', 'failed', 5_000, 25);
    assert.equal((await owner.request(`/v1/instances/${instanceId}`)).body.migrating, false);
    const failed = Date.now() - t0;
    assert.equal(done.error.code, 'target_disconnected', JSON.stringify(done.error));
    assert.equal(done.error.step, 'transfer');
    assert.equal(done.instance_id, instanceId);
    await b.agent!.exited;
    await assertTargetClean(id);
    console.log(`[migrations-cancel] target SIGKILL → source running ${running} ms, → migration failed ${failed} ms`);
  });

  it(`a transfer that stops moving (the target frozen) is failed by the watchdog after ${STALL_SECONDS} s and rolled back`, async () => {
    const id = await startMigration();
    await waitMigration(owner, id, (x) => x.step === 'transfer' && x.bytes.transferred > 0, 'transferring', 20_000, 25);
    // Frozen, not dead: its socket stays open and its heartbeats are not yet missed for long enough.
    b.agent!.child.kill('SIGSTOP');
    const t0 = Date.now();
    try {
      const running = await msUntil('running on the source', t0, runningOnSource, (STALL_SECONDS + 8) * 1000);
      assert.ok(running >= (STALL_SECONDS - 1) * 1000, `rolled back after ${running} ms, before the watchdog's time`);
      // The frozen target's clean-up stays queued for it; the migration does not wait for it long.
      const done = await waitMigration(
        owner,
        id,
        (x) => x.status === 'failed',
        'failed while the target is frozen',
        10_000,
      );
      const failed = Date.now() - t0;
      assert.equal(done.error.code, 'stalled', JSON.stringify(done.error));
      assert.equal(done.error.step, 'transfer');
      console.log(
        `[migrations-cancel] frozen target → source running after ${running} ms, migration failed after ${failed} ms (watchdog ${STALL_SECONDS} s)`,
      );
    } finally {
      b.agent!.child.kill('SIGCONT');
    }
    await assertTargetClean(id);
  });
});
