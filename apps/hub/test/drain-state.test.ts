import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cancelDrain,
  deadlinePassed,
  finishDrain,
  newIssues,
  normalizeDrain,
  startDrain,
  updateDrain,
} from '../src/nodes/drain';
import type { DrainState } from '../src/nodes/node.entity';

const T0 = new Date('2026-03-01T10:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);
const actor = { type: 'user', id: 'u1' };

describe('drain state machine (pure)', () => {
  it('a drain with nothing on the node completes at once; with instances it drains until none remain', () => {
    const empty = startDrain(null, { force: false, actor }, 0, T0, '00000000-0000-4000-8000-000000000001');
    assert.equal(empty.status, 'complete');
    assert.equal(empty.completed_reason, 'empty');
    const d = startDrain(
      null,
      { force: false, actor, deadlineSeconds: 60, maxParallel: 2 },
      3,
      T0,
      '00000000-0000-4000-8000-000000000002',
    );
    assert.equal(d.status, 'draining');
    assert.equal(d.max_parallel, 2);
    assert.equal(d.deadline_at, later(60).toISOString());
    const mid = updateDrain(
      d,
      { remaining: 1, migrated: 2, unplaceable: [{ instance_id: 'i3', reason: 'none fit' }], failed: [] },
      later(10),
    );
    assert.equal(mid.status, 'draining');
    assert.equal(mid.migrated, 2);
    assert.equal(mid.unplaceable[0]!.since, later(10).toISOString());
    const done = updateDrain(mid, { remaining: 0, migrated: 3, unplaceable: [], failed: [] }, later(20));
    assert.equal(done.status, 'complete');
    assert.equal(done.completed_reason, 'empty');
    assert.equal(updateDrain(done, 5).status, 'complete', 'a finished drain does not come back');
  });

  it('re-posting updates deadline, parallelism and force, never restarting the drain', () => {
    const d = startDrain(null, { force: false, actor }, 2, T0, '00000000-0000-4000-8000-000000000003');
    const again = startDrain(d, { force: true, actor, deadlineSeconds: 5, maxParallel: 4 }, 2, later(30), 'ignored');
    assert.equal(again.id, d.id);
    assert.equal(again.started_at, d.started_at);
    assert.equal(again.force, true);
    assert.equal(again.max_parallel, 4);
    assert.equal(again.deadline_at, later(35).toISOString());
    assert.equal(startDrain(again, { force: false, actor }, 2, later(31)).force, true, 'force is not taken back');
  });

  it('deadline and force finish the drain with what was stopped in place; cancel only applies while draining', () => {
    const d = startDrain(
      null,
      { force: false, actor, deadlineSeconds: 10 },
      2,
      T0,
      '00000000-0000-4000-8000-000000000004',
    );
    assert.equal(deadlinePassed(d, later(9)), false);
    assert.equal(deadlinePassed(d, later(10)), true);
    const f = finishDrain(d, 'deadline', 1, ['i2'], later(11));
    assert.equal(f.status, 'complete');
    assert.equal(f.completed_reason, 'deadline');
    assert.deepEqual(f.stopped, ['i2']);
    assert.equal(finishDrain(d, 'force', 0, [], later(11)).completed_reason, 'empty');
    assert.equal(cancelDrain(f), null);
    assert.equal(cancelDrain(d, later(3))!.status, 'cancelled');
  });

  it('an unchanged issue keeps its time and raises no new event; a changed reason does', () => {
    const before = [{ instance_id: 'a', reason: 'x', since: T0.toISOString() }];
    assert.deepEqual(newIssues(before, before), []);
    assert.deepEqual(
      newIssues(before, [{ instance_id: 'a', reason: 'y', since: T0.toISOString() }]).map((i) => i.reason),
      ['y'],
    );
    assert.equal(newIssues([], before).length, 1);
  });

  it('a drain stored before the drain loop existed is read with defaults', () => {
    const old = {
      status: 'draining',
      started_at: T0.toISOString(),
      updated_at: T0.toISOString(),
      deadline_at: null,
      force: false,
      actor: null,
      remaining: 1,
    } as unknown as DrainState;
    const n = normalizeDrain(old);
    assert.match(n.id, /^[0-9a-f-]{36}$/);
    assert.equal(n.max_parallel, 1);
    assert.deepEqual([n.unplaceable, n.failed, n.stopped], [[], [], []]);
  });
});
