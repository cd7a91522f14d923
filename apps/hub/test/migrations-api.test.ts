import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EventsService, type HubEvent } from '../src/events/events.service';
import { type TestNode, waitFor } from './support/agents';
import {
  backupsOn,
  createInstance,
  createWorkload,
  FLEET_ENV,
  hasInstance,
  keeperWorkload,
  removeAllInstances,
  readDataFile,
  sha256,
  startNodes,
  waitInstance,
  waitMigration,
  writeDataFile,
} from './support/fleet';
import { Client, IdentityContext } from './support/identity';

describe('migrations: an instance moves to another node with its data', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;
  let workloadId: string;
  let stubbornId: string;
  const events: HubEvent[] = [];

  before(async () => {
    ctx = await IdentityContext.start({ env: FLEET_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    ctx.hub.app.get(EventsService).onEvent((e) => events.push(e));
    [a, b] = (await startNodes(owner, ctx.hub.url, 2)) as [TestNode, TestNode];
    workloadId = await createWorkload(owner, keeperWorkload('keeper'));
    stubbornId = await createWorkload(owner, keeperWorkload('stubborn', { stubborn: true, graceSeconds: 3 }));
  });
  after(async () => {
    if (owner) await removeAllInstances(owner);
    await Promise.all([a?.stop(), b?.stop()]);
    await ctx?.close();
  });

  it('migrate: stop, back up, transfer, restore without re-installing, switch, start on the target; nothing is left on the source', async () => {
    const id = await createInstance(owner, workloadId, 'keeper-1', a.id);
    const payload = randomBytes(3 * 1024 * 1024);
    const digest = writeDataFile(a, id, 'world/level.dat', payload);
    const installMarks = readDataFile(a, id, 'install-marks.txt');
    assert.ok(installMarks, 'the install script ran on the source');

    const res = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { instance_ids: [id] } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.total, 1);
    const m = res.body.data[0];
    assert.equal(m.instance_id, id);
    assert.equal(m.source_node_id, a.id);
    assert.equal(m.target_node_id, b.id, 'the planner picks the only other node');
    assert.equal(m.cancellable, true);

    const during = await owner.request(`/v1/instances/${id}`);
    assert.equal(during.body.migrating, true);
    assert.equal(during.body.migration_id, m.id);
    const again = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { instance_ids: [id] } });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.code, 'migration_in_progress');
    const stop = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    assert.equal(stop.status, 409, stop.text);
    assert.equal(stop.body.code, 'instance_migrating');

    const done = await waitMigration(owner, m.id, (x) => x.status !== 'queued' && x.status !== 'running', 'finished');
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.progress.percent, 100);
    assert.equal(done.was_running, true);
    assert.ok(done.bytes.total > 0 && done.bytes.transferred === done.bytes.total, JSON.stringify(done.bytes));
    assert.ok(done.finished_at && done.started_at);

    const moved = await waitInstance(owner, id, (i) => i.state === 'running', 'running on the target');
    assert.equal(moved.node_id, b.id);
    assert.equal(moved.migrating, false);
    assert.equal(moved.migration_id, null);
    const there = readDataFile(b, id, 'world/level.dat');
    assert.ok(there, 'the data file is on the target');
    assert.equal(sha256(there), digest);
    assert.deepEqual(
      readDataFile(b, id, 'install-marks.txt'),
      installMarks,
      'the install script did not run again on the target',
    );
    await waitFor(
      'source clean',
      async () => (!hasInstance(a, id) && backupsOn(a, id).length === 0 ? true : undefined),
      10_000,
    );
    assert.deepEqual(backupsOn(b, id), [], 'the transferred archive is removed from the target');

    // The target is the instance's node now: its console works there, and lifecycle actions go there.
    const stopped = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    assert.equal(stopped.status, 202, stopped.text);
    assert.equal(stopped.body.node_id, b.id);
    await waitInstance(owner, id, (i) => i.state === 'stopped', 'stopped on the target');

    const types = events.filter((e) => e.data.migration_id === m.id || e.data.instance_id === id).map((e) => e.type);
    for (const t of [
      'migration.queued',
      'migration.started',
      'migration.progress',
      'instance.migrated',
      'migration.succeeded',
    ])
      assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
    assert.ok(
      events.some(
        (e) =>
          e.type === 'migration.progress' &&
          e.data.migration_id === m.id &&
          e.data.step === 'transfer' &&
          Number(e.data.bytes_transferred) === done.bytes.total,
      ),
    );

    const list = await owner.request(`/v1/migrations?instance_id=${id}&status=succeeded`);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.total, 1);
    assert.equal((await owner.request(`/v1/migrations?node_id=${b.id}`)).body.total >= 1, true);
    assert.equal((await owner.request(`/v1/migrations?status=failed&instance_id=${id}`)).body.total, 0);
    const late = await owner.request(`/v1/migrations/${m.id}/cancel`, { method: 'POST' });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.code, 'not_cancellable');
    const audit = await ctx.auditEntries({ action: 'node.migrate' });
    assert.ok(audit.some((e) => e.target_id === a.id));
  });

  it('cancel mid-way: the migration rolls back, the instance stays on the source and runs again', async () => {
    const id = await createInstance(owner, stubbornId, 'stubborn-1', a.id);
    const res = await owner.request(`/v1/nodes/${a.id}/migrate`, {
      method: 'POST',
      json: { instance_ids: [id], target_node_id: b.id },
    });
    assert.equal(res.status, 202, res.text);
    const m = res.body.data[0];
    // It ignores SIGTERM: the stop step takes its 3 s grace period.
    await waitMigration(owner, m.id, (x) => x.status === 'running' && x.step === 'stop', 'stopping');
    await waitInstance(owner, id, (i) => i.state === 'stopping', 'stopping on the source', 5000);
    const cancel = await owner.request(`/v1/migrations/${m.id}/cancel`, { method: 'POST' });
    assert.equal(cancel.status, 202, cancel.text);
    assert.equal(cancel.body.cancel_requested, true);
    const done = await waitMigration(
      owner,
      m.id,
      (x) => x.status !== 'queued' && x.status !== 'running',
      'finished',
      30_000,
    );
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal(done.error.code, 'cancelled');
    const back = await waitInstance(owner, id, (i) => i.state === 'running', 'running again on the source', 20_000);
    assert.equal(back.node_id, a.id);
    assert.equal(back.migrating, false);
    assert.equal(hasInstance(b, id), false, 'nothing reached the target');
    assert.ok(hasInstance(a, id));
    assert.ok(events.some((e) => e.type === 'migration.cancelled' && e.data.migration_id === m.id));
    // The instance can be migrated again afterwards.
    const twice = await owner.request(`/v1/migrations/${m.id}/cancel`, { method: 'POST' });
    assert.equal(twice.status, 409);
  });

  it('bad requests are refused clearly and change nothing', async () => {
    const id = (await owner.request(`/v1/instances?node_id=${a.id}`)).body.data[0].id;
    const same = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { target_node_id: a.id } });
    assert.equal(same.status, 400, same.text);
    assert.match(same.body.error, /target_node_id/);
    const zero = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { max_parallel: 0 } });
    assert.equal(zero.status, 400);
    const unknownKey = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { everything: true } });
    assert.equal(unknownKey.status, 400);
    const dup = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { instance_ids: [id, id] } });
    assert.equal(dup.status, 400);
    assert.equal(
      (await owner.request(`/v1/nodes/00000000-0000-4000-8000-000000000000/migrate`, { method: 'POST', json: {} }))
        .status,
      404,
    );
    const elsewhere = await owner.request(`/v1/nodes/${b.id}/migrate`, {
      method: 'POST',
      json: { instance_ids: [id] },
    });
    assert.equal(elsewhere.status, 409);
    assert.equal(elsewhere.body.code, 'not_on_node');
    // B cannot take it: cordoned, so the planner explains it.
    assert.equal((await owner.request(`/v1/nodes/${b.id}/cordon`, { method: 'POST' })).status, 200);
    const nowhere = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { instance_ids: [id] } });
    assert.equal(nowhere.status, 409, nowhere.text);
    assert.equal(nowhere.body.code, 'no_node_fits');
    assert.match(nowhere.body.error, /cordon/);
    await owner.request(`/v1/nodes/${b.id}/uncordon`, { method: 'POST' });
    assert.equal((await owner.request(`/v1/migrations/not-a-uuid`)).status, 400);
    assert.equal((await owner.request(`/v1/migrations/00000000-0000-4000-8000-000000000000`)).status, 404);
    assert.equal((await owner.request(`/v1/migrations?status=bogus`)).status, 400);
    const open = await owner.request(`/v1/migrations?status=queued`);
    assert.equal(open.body.total, 0, 'no migration was created by the refused requests');
    const viewer = await ctx.addMember({ id: owner.defaultOrg!, owner }, 'viewer');
    assert.equal((await viewer.request(`/v1/migrations`)).status, 200);
    assert.equal((await viewer.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: {} })).status, 403);
  });

  it('without instance_ids every instance of the node moves, max_parallel at a time', async () => {
    await createInstance(owner, workloadId, 'keeper-2', a.id);
    const res = await owner.request(`/v1/nodes/${a.id}/migrate`, { method: 'POST', json: { max_parallel: 1 } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.total, 2);
    const ids = res.body.data.map((m: { id: string }) => m.id);
    assert.equal(new Set(res.body.data.map((m: { batch_id: string }) => m.batch_id)).size, 1);
    let most = 0;
    let sawQueued = false;
    await waitFor(
      'both migrated',
      async () => {
        const states = await Promise.all(
          ids.map(async (mid: string) => (await owner.request(`/v1/migrations/${mid}`)).body.status as string),
        );
        most = Math.max(most, states.filter((s) => s === 'running').length);
        sawQueued ||= states.includes('queued') && states.includes('running');
        return states.every((s) => s === 'succeeded') ? true : undefined;
      },
      40_000,
      100,
    );
    assert.equal(most, 1, 'never two at once');
    assert.ok(sawQueued, 'one waited for the other');
    assert.equal((await owner.request(`/v1/instances?node_id=${a.id}`)).body.total, 0);
  });
});
