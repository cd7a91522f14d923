import { Client as PgClient } from 'pg';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';

export const OUTBOX_CHANNEL = 'hostplane_event_outbox';
const RELAY_LOCK_KEY = 4_242_017;
const BATCH = 500;
/** How long a published outbox id is remembered in Redis, so a relay that crashed after XADD
 * and before deleting its rows does not publish them twice. */
const PUBLISHED_MEMORY_MS = 3_600_000;
const SWEEP_MS = 5000;
/** When another replica holds the relay lock, look again this soon: its last read may predate our commit. */
const BUSY_RETRY_MS = 20;

/**
 * Publishes one outbox row once: the stream entry and the memory of its outbox id are written
 * by one script, so a second publish of the same id returns the first entry's stream id.
 */
const PUBLISH_ONCE = `
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if seen then return seen end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'org', ARGV[3], 'type', ARGV[4], 'ts', ARGV[5], 'data', ARGV[6], 'oid', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[8], 'LIMIT', 0, 100)
if #old > 0 then
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('ZREM', KEYS[3], unpack(old))
end
return id
`;

interface OutboxRow {
  id: string;
  org_id: string;
  type: string;
  data: Record<string, unknown>;
  ts: Date;
}

type PublishRedis = Redis & { hpPublishOnce(stream: string, seen: string, seenAt: string, ...args: string[]): Promise<string> };

export interface OutboxRelayOptions {
  db: DataSource;
  redis: Redis;
  streamKey: string;
  maxLength: number;
  databaseUrl: string;
  log: Logger;
}

/** Writes an event into the outbox within `tx` (the caller's transaction) and wakes the relays at its commit. */
export async function writeToOutbox(tx: EntityManager | DataSource, orgId: string, type: string, data: Record<string, unknown>): Promise<string> {
  const rows = (await tx.query(
    `WITH ins AS (INSERT INTO event_outbox (org_id, type, data) VALUES ($1, $2, $3) RETURNING id)
     SELECT id::text AS id, pg_notify('${OUTBOX_CHANNEL}', '') FROM ins`,
    [orgId, type, JSON.stringify(data)],
  )) as { id: string }[];
  return rows[0]!.id;
}

/**
 * The transactional outbox's relay (decision 0016): events are rows in PostgreSQL, written with
 * the state change that causes them; every replica runs this relay, one at a time under an
 * advisory lock, moving rows to the Redis stream in id order and deleting them once published.
 * Woken by NOTIFY at each commit, by a local kick, and by a slow sweep (Redis back after an
 * outage, a lost notification).
 */
export class OutboxRelay {
  private listener: PgClient | null = null;
  private running = false;
  private again = false;
  private stopped = false;
  private sweepTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;

  constructor(private readonly o: OutboxRelayOptions) {
    (o.redis as PublishRedis).defineCommand('hpPublishOnce', { numberOfKeys: 3, lua: PUBLISH_ONCE });
  }

  start(): void {
    void this.listen();
    this.sweepTimer = setInterval(() => this.kick(), SWEEP_MS);
    this.o.redis.on('ready', () => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
  }

  /** Runs the relay now, or once more after the run in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      let taken: number | 'busy';
      do taken = await this.relayBatch();
      while (!this.stopped && taken === BATCH);
      this.failures = 0;
      if (taken === 'busy' && !this.stopped) {
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.kick(), BUSY_RETRY_MS);
      }
    } catch (err) {
      this.failures++;
      const delay = Math.min(250 * 2 ** Math.min(this.failures, 5), 5000);
      if (this.failures === 1 || this.failures % 20 === 0) this.o.log.warn({ reason: (err as Error).message, retryMs: delay }, 'event relay failed; events stay in the outbox and are published when it recovers');
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), delay);
    }
  }

  /** One batch in id order under the cluster-wide relay lock; returns how many rows it took. */
  private async relayBatch(): Promise<number | 'busy'> {
    return this.o.db.transaction(async (tx) => {
      const [{ locked }] = (await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [RELAY_LOCK_KEY])) as [{ locked: boolean }];
      if (!locked) return 'busy';
      const rows = (await tx.query(`SELECT id::text AS id, org_id, type, data, ts FROM event_outbox ORDER BY id LIMIT ${BATCH}`)) as OutboxRow[];
      if (rows.length === 0) return 0;
      const redis = this.o.redis as PublishRedis;
      const now = Date.now();
      const pipe = redis.pipeline();
      for (const r of rows) {
        void (pipe as unknown as PublishRedis).hpPublishOnce(
          this.o.streamKey,
          `${this.o.streamKey}:outbox-published`,
          `${this.o.streamKey}:outbox-published-at`,
          r.id,
          String(this.o.maxLength),
          r.org_id,
          r.type,
          new Date(r.ts).toISOString(),
          JSON.stringify(r.data),
          String(now),
          String(now - PUBLISHED_MEMORY_MS),
        );
      }
      const results = (await pipe.exec()) ?? [];
      // Only the published prefix leaves the outbox, so order holds when Redis fails midway.
      let published = 0;
      while (published < rows.length && results[published] && !results[published]![0]) published++;
      if (published > 0) await tx.query('DELETE FROM event_outbox WHERE id = ANY($1::bigint[])', [rows.slice(0, published).map((r) => r.id)]);
      if (published < rows.length) throw results[published]?.[0] ?? new Error('redis did not answer the publish');
      return rows.length;
    });
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new PgClient({ connectionString: this.o.databaseUrl });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.listener !== client) return;
      this.listener = null;
      this.retryListen();
    });
    client.on('notification', () => this.kick());
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (this.stopped) {
        await client.end();
        return;
      }
      this.listener = client;
      // Anything committed while we were not listening.
      this.kick();
    } catch (err) {
      this.o.log.warn({ reason: (err as Error).message }, 'cannot listen for outbox notifications; relying on the sweep until it can');
      await client.end().catch(() => undefined);
      this.retryListen();
    }
  }

  private retryListen(): void {
    if (!this.stopped) setTimeout(() => void this.listen(), 1000).unref();
  }
}
