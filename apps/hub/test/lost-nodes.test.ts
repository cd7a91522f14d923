import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EventsService, type HubEvent } from '../src/events/events.service';
import { type TestNode, waitFor } from './support/agents';
import {
  createInstance,
  createWorkload,
  FLEET_ENV,
  hasInstance,
  keeperWorkload,
  readDataFile,
  removeAllInstances,
  startNodes,
  waitInstance,
  writeDataFile,
} from './support/fleet';
import { Client, IdentityContext } from './support/identity';

describe('lost nodes: instances of a node gone too long become unknown, are replaced elsewhere, and the returning copy is removed', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let a: TestNode;
  let b: TestNode;
  let replaced: string;
  let waiting: string;
  const events: HubEvent[] = [];

  before(async () => {
    ctx = await IdentityContext.start({ env: FLEET_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    ctx.hub.app.get(EventsService).onEvent((e) => events.push(e));
    [a, b] = (await startNodes(owner, ctx.hub.url, 2)) as [TestNode, TestNode];
    const replacing = await createWorkload(
      owner,
      keeperWorkload('replacing', { extra: { lost_after_seconds: 10, replace_when_lost: true } }),
    );
    const patient = await createWorkload(owner, keeperWorkload('patient', { extra: { lost_after_seconds: 10 } }));
    replaced = await createInstance(owner, replacing, 'replaced-1', a.id);
    waiting = await createInstance(owner, patient, 'waiting-1', a.id);
  });
  after(async () => {
    if (owner) await removeAllInstances(owner);
    await Promise.all([a?.stop(), b?.stop()]);
    await ctx?.close();
  });

  it('kill -9 of the agent: unknown after lost_after_seconds, replaced on another node, the duplicate is stopped and removed when the node returns', async () => {
    writeDataFile(a, replaced, 'world.dat', randomBytes(1024));
    const marks = readDataFile(a, replaced, 'install-marks.txt');
    await a.agent!.stop('SIGKILL');
    await a.waitStatus('offline', 15_000);
    const lostAt = Date.now();

    const lost = await waitInstance(owner, waiting, (i) => i.state === 'unknown', 'unknown', 20_000);
    assert.ok(Date.now() - lostAt >= 7000, 'not before lost_after_seconds (measured from the last heartbeat)');
    assert.match(lost.state_reason, /unreachable since/);
    assert.equal(lost.node_id, a.id);
    const unknownList = await owner.request('/v1/instances?state=unknown');
    assert.ok(unknownList.body.data.some((i: { id: string }) => i.id === waiting));
    assert.ok(
      events.some((e) => e.type === 'instance.lost' && e.data.instance_id === waiting && e.data.node_id === a.id),
    );

    // replace_when_lost: the same instance id, on B, created fresh (install again, none of the old data).
    const moved = await waitInstance(
      owner,
      replaced,
      (i) => i.node_id === b.id && i.state === 'running',
      'replaced and running on B',
      30_000,
    );
    assert.equal(moved.id, replaced);
    const replacedEvent = events.find((e) => e.type === 'instance.replaced' && e.data.instance_id === replaced);
    assert.ok(replacedEvent, 'instance.replaced event');
    assert.equal(replacedEvent.data.from_node_id, a.id);
    assert.equal(replacedEvent.data.to_node_id, b.id);
    assert.equal(readDataFile(b, replaced, 'world.dat'), null, 'a replacement starts without the lost data');
    assert.ok(readDataFile(b, replaced, 'install-marks.txt'), 'and is installed from scratch');
    assert.notDeepEqual(readDataFile(b, replaced, 'install-marks.txt'), marks);
    // Without replace_when_lost it just waits for its node.
    assert.equal((await owner.request(`/v1/instances/${waiting}`)).body.state, 'unknown');

    a.start();
    await a.waitStatus('online');
    await waitFor(
      'duplicate removed from the returning node',
      async () => (hasInstance(a, replaced) ? undefined : true),
      20_000,
      100,
    );
    const dup = await waitFor(
      'duplicate event',
      async () => events.find((e) => e.type === 'instance.duplicate_reconciled' && e.data.instance_id === replaced),
      5000,
    );
    assert.equal(dup.data.node_id, a.id);
    assert.equal(dup.data.kept_node_id, b.id);
    assert.equal(dup.data.outcome, 'kept_replacement');
    const kept = await owner.request(`/v1/instances/${replaced}`);
    assert.equal(kept.body.node_id, b.id);
    assert.equal(kept.body.state, 'running', 'the replacement keeps running');
    assert.ok(hasInstance(b, replaced));

    // The node came back before its instance was replaced: the host's state applies again.
    const back = await waitInstance(owner, waiting, (i) => i.state === 'running', 'running again on A', 15_000);
    assert.equal(back.node_id, a.id);
    assert.ok(hasInstance(a, waiting));
  });
});
