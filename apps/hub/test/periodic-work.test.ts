import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { HubConfig } from '../src/config/load-config';
import { PeriodicWork } from '../src/periodic/periodic-work';
import { MAX_JITTER_MS, nextTickDelay } from '../src/periodic/periodic-schedule';
import { RedisService } from '../src/redis/redis.service';
import { HubProcess } from './support/hub-process';
import { freePort } from './support/redis-server';
import { createTestDatabase, TestDatabase, testRedisPrefix, testRedisUrl } from './support/test-env';
import { deleteRedisPrefix } from './support/test-hub';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `hostplane_hub_periodic_runs_total` of one replica, by `kind|how`. */
async function periodicRuns(hub: HubProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const runs = new Map<string, number>();
  for (const m of text.matchAll(/^hostplane_hub_periodic_runs_total\{kind="([^"]+)",how="([^"]+)"\} (\d+)$/gm))
    runs.set(`${m[1]}|${m[2]}`, Number(m[3]));
  return runs;
}

async function totalRuns(hubs: HubProcess[], key: string): Promise<number[]> {
  return Promise.all(hubs.map(async (h) => (await periodicRuns(h)).get(key) ?? 0));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('periodic work: one run per period across the replicas', () => {
  it('the next chance is the start of the next period plus a jitter of at most a tenth of it (and at most a second)', () => {
    assert.equal(nextTickDelay(10_250, 1000, 0), 750);
    assert.equal(nextTickDelay(10_250, 1000, 0.999), 750 + 99);
    assert.equal(nextTickDelay(10_000, 1000, 0), 1000, 'a tick exactly at a boundary waits for the next one');
    assert.equal(nextTickDelay(0, 600_000, 0.999), 600_000 + MAX_JITTER_MS - 1);
  });

  describe('three hub processes on one database and Redis', () => {
    let db: TestDatabase;
    const prefix = testRedisPrefix();
    const hubs: HubProcess[] = [];

    before(async () => {
      db = await createTestDatabase();
      // 1 s periods for the drain, lost-instance and migration sweeps, and for the offline sweep (heartbeat 1 s).
      const env = { HOSTPLANE_MIGRATIONS_SWEEP_SECONDS: '1', HOSTPLANE_AGENT_HEARTBEAT_SECONDS: '1' };
      const first = new HubProcess(db, prefix, await freePort(), env);
      await first.start(); // applies the migrations before the others start
      hubs.push(first);
      const rest = [
        new HubProcess(db, prefix, await freePort(), env),
        new HubProcess(db, prefix, await freePort(), env),
      ];
      await Promise.all(rest.map((h) => h.start()));
      hubs.push(...rest);
    });
    after(async () => {
      await Promise.all(hubs.map((h) => h.kill('SIGTERM')));
      await db?.drop();
      await deleteRedisPrefix(prefix);
    });

    it('a 1 s sweep runs about once a second in all (not three times), and a 2 s one every two; a replica killed mid-period does not stop them', async () => {
      const KIND = 'instances.lost|claimed';
      await sleep(1200);
      const window = 6000;
      const before1 = await totalRuns(hubs, KIND);
      const expireBefore = sum(await totalRuns(hubs, 'jobs.expire-due|claimed'));
      await sleep(window);
      const after1 = await totalRuns(hubs, KIND);
      const expireAfter = sum(await totalRuns(hubs, 'jobs.expire-due|claimed'));
      const runs1 = sum(after1) - sum(before1);
      const byReplica = after1.map((n, i) => n - before1[i]!);
      assert.ok(
        runs1 >= 5 && runs1 <= 7,
        `6 periods of 1 s saw ${runs1} runs across three replicas (${byReplica.join('+')})`,
      );
      const expireRuns = expireAfter - expireBefore;
      assert.ok(expireRuns >= 2 && expireRuns <= 4, `6 s of a 2 s sweep saw ${expireRuns} runs`);

      // Kill -9 the replica that ran it most, half-way through a period.
      const victim = byReplica.indexOf(Math.max(...byReplica));
      await sleep(1000 - (Date.now() % 1000) + 500);
      await hubs[victim]!.kill('SIGKILL');
      const alive = hubs.filter((_, i) => i !== victim);
      const before2 = await totalRuns(alive, KIND);
      await sleep(window);
      const after2 = await totalRuns(alive, KIND);
      const runs2 = sum(after2) - sum(before2);
      assert.ok(
        runs2 >= 5 && runs2 <= 7,
        `with one replica killed, 6 periods saw ${runs2} runs (${after2.map((n, i) => n - before2[i]!).join('+')})`,
      );

      for (const h of alive) {
        const unclaimed = [...(await periodicRuns(h)).entries()].filter(([k, n]) => k.endsWith('|unclaimed') && n > 0);
        assert.deepEqual(unclaimed, [], 'with Redis up, nothing runs without a claim');
      }
      console.log(
        `# 1 s sweep: ${runs1} runs in 6 s over three replicas (${byReplica.join('+')}), ${runs2} in 6 s after one was killed; 2 s sweep: ${expireRuns} runs in 6 s`,
      );
    });
  });

  describe('a run whose replica stops answering', () => {
    const prefix = testRedisPrefix();
    const log = pino({ level: 'silent' });
    const config = { redis: { url: testRedisUrl, prefix, cluster: false } } as HubConfig;
    const replicas = [0, 1, 2].map(() => {
      const redis = new RedisService(config, log);
      return { redis, work: new PeriodicWork(redis, log) };
    });
    after(async () => {
      for (const r of replicas) {
        await Promise.race([r.work.beforeApplicationShutdown(), sleep(100)]);
        await r.redis.onApplicationShutdown();
      }
      await deleteRedisPrefix(prefix);
    });

    it('holds the work up only for its lock TTL, then another replica takes the periods', async () => {
      const runs: { replica: number; at: number }[] = [];
      let hang = true;
      for (const [i, r] of replicas.entries()) {
        r.work.register({
          kind: 'test.hang',
          everyMs: 200,
          maxRunMs: 1000,
          run: async () => {
            runs.push({ replica: i, at: Date.now() });
            // The first run never ends, as on a replica that froze mid-run: its lock must lapse.
            if (hang) {
              hang = false;
              await new Promise(() => undefined);
            }
          },
        });
      }
      await sleep(2600);
      const [first, ...rest] = runs;
      assert.ok(first, 'the work ran');
      assert.ok(rest.length > 0, 'the work resumed after the hung run');
      const gap = rest[0]!.at - first.at;
      assert.ok(gap >= 900 && gap <= 1500, `the next run came after the lock's TTL (${gap} ms)`);
      assert.ok(
        rest.every((r) => r.replica !== first.replica),
        'the hung replica ran nothing more',
      );
      for (let i = 1; i < rest.length; i++)
        assert.ok(rest[i]!.at - rest[i - 1]!.at >= 100, 'never two runs in one period');
      assert.ok(rest.length >= 5 && rest.length <= 9, `once every 200 ms after the TTL: ${rest.length} runs in ~1.6 s`);
    });
  });
});
