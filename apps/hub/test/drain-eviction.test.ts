import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventsService, type HubEvent } from '../src/events/events.service';
import { type TestNode, waitFor } from './support/agents';
import {
  createInstance,
  createWorkload,
  FLEET_ENV,
  hasInstance,
  keeperWorkload,
  removeAllInstances,
  startNodes,
  waitInstance,
  waitMigration,
} from './support/fleet';
import { Client, IdentityContext } from './support/identity';

const MiB = 1024 * 1024;

describe('drain: a node is emptied by migrating its instances, what cannot move is stopped at the deadline', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;
  let workloadId: string;
  let first: string;
  let second: string;
  const events: HubEvent[] = [];

  const node = async (n: TestNode) => (await owner.request(`/v1/nodes/${n.id}`)).body;
  const waitDrain = (n: TestNode, ok: (d: any) => boolean, what: string, timeoutMs = 20_000) =>
    waitFor(
      `drain ${what}`,
      async () => {
        const d = (await node(n)).drain;
        return d && ok(d) ? d : undefined;
      },
      timeoutMs,
      100,
    );

  before(async () => {
    ctx = await IdentityContext.start({ env: FLEET_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    ctx.hub.app.get(EventsService).onEvent((e) => events.push(e));
    [a, b] = (await startNodes(owner, ctx.hub.url, 2)) as [TestNode, TestNode];
    // Ignores SIGTERM for its 2 s grace: each stop (and so each migration) takes a moment.
    workloadId = await createWorkload(owner, keeperWorkload('keeper', { stubborn: true, graceSeconds: 2 }));
    first = await createInstance(owner, workloadId, 'keeper-1', a.id);
    second = await createInstance(owner, workloadId, 'keeper-2', a.id);
    // B has room for one 64 MiB instance, not two.
    const cap = await owner.request(`/v1/nodes/${b.id}`, {
      method: 'PUT',
      json: { capacity: { memory_bytes: 100 * MiB } },
    });
    assert.equal(cap.status, 200, cap.text);
  });
  after(async () => {
    if (owner) await removeAllInstances(owner);
    await Promise.all([a?.stop(), b?.stop()]);
    await ctx?.close();
  });

  it('with a deadline: the instance that fits moves, the other is reported unplaceable, keeps running, and is stopped at the deadline', async () => {
    const res = await owner.request(`/v1/nodes/${a.id}/drain`, { method: 'POST', json: { deadline_seconds: 20 } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.schedulable, false, 'draining cordons the node');
    assert.equal(res.body.drain.status, 'draining');
    assert.equal(res.body.drain.max_parallel, 1);
    const drainId = res.body.drain.id;

    // The first pass started one migration (max_parallel 1) and found no room for the other.
    const reported = await waitDrain(a, (d) => d.unplaceable.length === 1, 'reports the unplaceable instance');
    assert.equal(reported.unplaceable[0].instance_id, second);
    assert.match(reported.unplaceable[0].reason, /memory/);
    assert.equal((await owner.request(`/v1/instances/${second}`)).body.state, 'running', 'reported, not stopped');
    const migrations = (await owner.request(`/v1/migrations?drain_id=${drainId}`)).body;
    assert.equal(migrations.total, 1);
    assert.equal(migrations.data[0].instance_id, first);
    assert.equal(migrations.data[0].target_node_id, b.id);

    await waitMigration(owner, migrations.data[0].id, (m) => m.status === 'succeeded', 'succeeded', 15_000);
    const moved = await waitInstance(owner, first, (i) => i.state === 'running' && i.node_id === b.id, 'running on B');
    assert.equal(moved.node_id, b.id);
    const progressed = await waitDrain(a, (d) => d.migrated === 1 && d.remaining === 1, 'counts the move');
    // Before the deadline the one that fits nowhere is not touched (a slow machine may be past it already).
    const waiting = await owner.request(`/v1/instances/${second}`);
    if (progressed.status === 'draining' && Date.parse(progressed.deadline_at) > Date.now() + 500) {
      assert.equal(waiting.body.state, 'running');
      assert.equal(waiting.body.desired_state, 'running');
    }
    assert.equal(waiting.body.node_id, a.id);
    assert.ok(
      events.some(
        (e) => e.type === 'node.drain.unplaceable' && e.data.instance_id === second && e.data.node_id === a.id,
      ),
    );

    const done = await waitDrain(a, (d) => d.status === 'complete', 'complete after the deadline', 35_000);
    assert.equal(done.completed_reason, 'deadline');
    assert.equal(done.remaining, 1);
    assert.equal(done.migrated, 1);
    assert.deepEqual(done.stopped, [second]);
    const left = await waitInstance(owner, second, (i) => i.state === 'stopped', 'stopped at the deadline', 15_000);
    assert.equal(left.node_id, a.id, 'stopped in place, not deleted');
    assert.equal(left.desired_state, 'stopped');
    assert.ok(hasInstance(a, second));
    assert.equal((await node(a)).schedulable, false, 'a finished drain leaves the node cordoned');
    const again = await owner.request(`/v1/nodes/${a.id}/drain`, { method: 'DELETE' });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'not_draining');
  });

  it('DELETE drain cancels it: its migration rolls back, the instance keeps running where it was, the node is schedulable again', async () => {
    assert.equal((await owner.request(`/v1/nodes/${a.id}/uncordon`, { method: 'POST' })).status, 200);
    const res = await owner.request(`/v1/nodes/${b.id}/drain`, { method: 'POST', json: {} });
    assert.equal(res.status, 200, res.text);
    const drainId = res.body.drain.id;
    const m = await waitFor(
      'a migration of the drain',
      async () => (await owner.request(`/v1/migrations?drain_id=${drainId}`)).body.data[0],
      10_000,
    );
    await waitMigration(owner, m.id, (x) => x.step === 'stop' && x.status === 'running', 'stopping');
    const cancel = await owner.request(`/v1/nodes/${b.id}/drain`, { method: 'DELETE' });
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal(cancel.body.drain.status, 'cancelled');
    assert.equal(cancel.body.schedulable, true);
    const ended = await waitMigration(owner, m.id, (x) => x.status === 'cancelled', 'cancelled', 20_000);
    assert.equal(ended.error.code, 'cancelled');
    const back = await waitInstance(
      owner,
      first,
      (i) => i.state === 'running' && !i.migrating,
      'running on B again',
      20_000,
    );
    assert.equal(back.node_id, b.id);
    assert.equal(hasInstance(a, first), false, 'what the target got was removed');
  });

  it('force stops everything now, without migrating; keep_cordoned leaves a cancelled drain cordoned', async () => {
    const res = await owner.request(`/v1/nodes/${b.id}/drain`, { method: 'POST', json: { force: true } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.drain.status, 'complete');
    assert.equal(res.body.drain.completed_reason, 'force');
    assert.deepEqual(res.body.drain.stopped, [first]);
    const stopped = await waitInstance(owner, first, (i) => i.state === 'stopped', 'stopped by force', 15_000);
    assert.equal(stopped.node_id, b.id);
    assert.equal(
      (await owner.request(`/v1/migrations?drain_id=${res.body.drain.id}`)).body.total,
      0,
      'force migrates nothing',
    );

    // A drain waiting on an instance that fits nowhere (A is cordoned), cancelled with keep_cordoned.
    await owner.request(`/v1/nodes/${a.id}/cordon`, { method: 'POST' });
    const waiting = await owner.request(`/v1/nodes/${b.id}/drain`, { method: 'POST', json: { max_parallel: 2 } });
    assert.equal(waiting.body.drain.status, 'draining');
    assert.equal(waiting.body.drain.max_parallel, 2);
    assert.equal(waiting.body.drain.unplaceable.length, 1, JSON.stringify(waiting.body.drain));
    const bad = await owner.request(`/v1/nodes/${b.id}/drain?keep_cordoned=maybe`, { method: 'DELETE' });
    assert.equal(bad.status, 400);
    const kept = await owner.request(`/v1/nodes/${b.id}/drain?keep_cordoned=true`, { method: 'DELETE' });
    assert.equal(kept.status, 200, kept.text);
    assert.equal(kept.body.drain.status, 'cancelled');
    assert.equal(kept.body.schedulable, false);
    const badBody = await owner.request(`/v1/nodes/${b.id}/drain`, { method: 'POST', json: { max_parallel: 0 } });
    assert.equal(badBody.status, 400);
  });
});
