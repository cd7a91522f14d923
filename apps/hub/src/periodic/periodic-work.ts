import { deleteIfEquals } from '../redis/cluster-lock';
import { randomBytes } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { HUB_LOGGER } from '../http/logger';
import { RedisService } from '../redis/redis.service';
import { nextTickDelay } from './periodic-schedule';

export interface PeriodicTask {
  /** Names the work across the cluster, e.g. `jobs.expire-due`: one run per period for each kind. */
  kind: string;
  everyMs: number;
  /** The longest a run may take: its lock lasts this long should its replica die mid-run. Default: the period. */
  maxRunMs?: number;
  run: () => Promise<unknown>;
}

/**
 * Claims period N of a kind for one replica: period numbers come from the Redis server's clock
 * (so replicas' clocks need not agree), a period is claimed at most once, and no claim is granted
 * while the previous run still holds its lock. Both keys carry the kind as a hash tag.
 */
const CLAIM = `
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = math.floor(now / tonumber(ARGV[1]))
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if last >= period then return -1 end
redis.call('SET', KEYS[1], period)
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return period
`;
/** How long shutdown waits for runs in progress. */
const SHUTDOWN_WAIT_MS = 10_000;
type PeriodicRedis = RedisService['client'] & {
  hpClaimPeriod(lastKey: string, runningKey: string, everyMs: number, token: string, ttlMs: number): Promise<number>;
};

/**
 * Periodic work that runs once per period across all hub replicas. Every replica wakes near
 * the start of each period (plus a random jitter, so they do not all ask at once) and tries to
 * claim the period in Redis; the one that wins runs the task under a lock whose TTL covers the
 * run, so a replica that dies mid-run holds up the work for at most `maxRunMs`, and the next
 * period goes to a live replica. While Redis cannot be asked, each replica runs its own pass, as
 * every replica did before this existed: every task registered here must be idempotent.
 */
@Injectable()
export class PeriodicWork implements BeforeApplicationShutdown {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly redis: PeriodicRedis;
  /**
   * Runs on this replica by `kind|how` (claimed: it won the period; unclaimed: Redis could not be asked), for /metrics.
   */
  readonly runCounts = new Map<string, number>();
  private readonly warnedAt = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly redisService: RedisService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    const client = redisService.client;
    if (!('hpClaimPeriod' in client)) {
      client.defineCommand('hpClaimPeriod', { numberOfKeys: 2, lua: CLAIM });
    }
    this.redis = client as PeriodicRedis;
  }

  /** Registers a task; its first chance to run is at the next period. */
  register(task: PeriodicTask): void {
    if (this.timers.has(task.kind)) throw new Error(`periodic work ${task.kind} is registered twice`);
    this.count(task.kind, 'claimed', 0);
    this.schedule(task);
  }

  private schedule(task: PeriodicTask): void {
    if (this.stopped) return;
    const timer = setTimeout(
      () => {
        const done = this.attempt(task).finally(() => {
          this.running.delete(done);
          this.schedule(task);
        });
        this.running.add(done);
      },
      nextTickDelay(Date.now(), task.everyMs, Math.random()),
    );
    timer.unref();
    this.timers.set(task.kind, timer);
  }

  private async attempt(task: PeriodicTask): Promise<void> {
    const lastKey = this.redisService.key('periodic', `{${task.kind}}`, 'period');
    const runningKey = this.redisService.key('periodic', `{${task.kind}}`, 'running');
    const token = randomBytes(9).toString('base64url');
    let claimed: boolean;
    try {
      claimed =
        (await this.redis.hpClaimPeriod(lastKey, runningKey, task.everyMs, token, task.maxRunMs ?? task.everyMs)) >= 0;
    } catch (err) {
      this.warnOnce(task.kind, (err as Error).message);
      await this.runOne(task, 'unclaimed');
      return;
    }
    if (!claimed) return;
    try {
      await this.runOne(task, 'claimed');
    } finally {
      await deleteIfEquals(this.redis, runningKey, token).catch(() => undefined);
    }
  }

  private async runOne(task: PeriodicTask, how: 'claimed' | 'unclaimed'): Promise<void> {
    if (this.stopped) return;
    this.count(task.kind, how, 1);
    try {
      await task.run();
    } catch (err) {
      this.log.warn(
        { kind: task.kind, reason: (err as Error).message },
        'periodic work failed; the next period retries',
      );
    }
  }

  private count(kind: string, how: 'claimed' | 'unclaimed', n: number): void {
    const key = `${kind}|${how}`;
    this.runCounts.set(key, (this.runCounts.get(key) ?? 0) + n);
  }

  private warnOnce(kind: string, reason: string): void {
    const last = this.warnedAt.get(kind) ?? 0;
    if (Date.now() - last < 60_000) return;
    this.warnedAt.set(kind, Date.now());
    this.log.warn({ kind, reason }, 'cannot claim periodic work in redis: running it on this replica');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // In-flight runs finish while the database and Redis are still there; a stuck one is left to its lock's TTL.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, SHUTDOWN_WAIT_MS)));
    await Promise.race([Promise.all([...this.running]), timeout]);
    clearTimeout(timer);
  }
}
