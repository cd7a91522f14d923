import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobScheduler } from '../src/jobs/scheduler';

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

const tick = () => new Promise((r) => setImmediate(r));
const noTaskErrors = { onTaskError: (_t: unknown, err: unknown) => assert.fail(String(err)) };

describe('job scheduler', () => {
  it('runs jobs on the same resource one at a time, in arrival order, even with free slots', async () => {
    const scheduler = new JobScheduler({ concurrency: 4, ...noTaskErrors });
    const events: string[] = [];
    let running = 0;
    for (let i = 0; i < 6; i++) {
      scheduler.enqueue({
        id: `job-${i}`,
        resource: 'zone:web',
        run: async () => {
          running++;
          assert.equal(running, 1, 'never two on one resource');
          events.push(`start ${i}`);
          await new Promise((r) => setTimeout(r, Math.random() * 15));
          events.push(`end ${i}`);
          running--;
        },
      });
    }
    await scheduler.idle();
    assert.deepEqual(
      events,
      [0, 1, 2, 3, 4, 5].flatMap((i) => [`start ${i}`, `end ${i}`]),
    );
  });

  it('runs jobs on different resources concurrently up to the limit', async () => {
    const scheduler = new JobScheduler({ concurrency: 2, ...noTaskErrors });
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    gates.forEach((g, i) =>
      scheduler.enqueue({
        id: `job-${i}`,
        resource: `vm:${i}`,
        run: async () => {
          started.push(i);
          await g.promise;
        },
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1], 'two run, two wait');
    gates[1]?.open();
    await tick();
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    gates[0]?.open();
    gates[2]?.open();
    await tick();
    await tick();
    assert.deepEqual(started, [0, 1, 2, 3]);
    gates[3]?.open();
    await scheduler.idle();
  });

  it('lets a job on a free resource pass one waiting for a busy resource', async () => {
    const scheduler = new JobScheduler({ concurrency: 3, ...noTaskErrors });
    const busy = gate();
    const started: string[] = [];
    const task = (id: string, resource: string | null, wait?: Promise<void>) => ({
      id,
      resource,
      run: async () => {
        started.push(id);
        await wait;
      },
    });
    scheduler.enqueue(task('a1', 'zone:a', busy.promise));
    scheduler.enqueue(task('a2', 'zone:a'));
    scheduler.enqueue(task('b1', 'zone:b'));
    scheduler.enqueue(task('free', null));
    await tick();
    assert.deepEqual(started, ['a1', 'b1', 'free']);
    assert.deepEqual(scheduler.ids(), ['a1', 'a2']);
    busy.open();
    await scheduler.idle();
    assert.deepEqual(started, ['a1', 'b1', 'free', 'a2']);
  });

  it('removes a waiting job so that it never runs', async () => {
    const scheduler = new JobScheduler({ concurrency: 1, ...noTaskErrors });
    const first = gate();
    const ran: string[] = [];
    scheduler.enqueue({ id: 'first', resource: 'r:1', run: () => (ran.push('first'), first.promise) });
    scheduler.enqueue({ id: 'second', resource: 'r:1', run: async () => void ran.push('second') });
    assert.equal(scheduler.removeWaiting('second'), true);
    assert.equal(scheduler.removeWaiting('first'), false, 'a running job is not removed');
    first.open();
    await scheduler.idle();
    assert.deepEqual(ran, ['first']);
  });

  it('keeps scheduling after a task throws', async () => {
    const failures: string[] = [];
    const scheduler = new JobScheduler({ concurrency: 1, onTaskError: (t) => failures.push(t.id) });
    const ran: string[] = [];
    scheduler.enqueue({ id: 'boom', resource: null, run: () => Promise.reject(new Error('boom')) });
    scheduler.enqueue({ id: 'after', resource: null, run: async () => void ran.push('after') });
    await scheduler.idle();
    assert.deepEqual(failures, ['boom']);
    assert.deepEqual(ran, ['after']);
  });
});
