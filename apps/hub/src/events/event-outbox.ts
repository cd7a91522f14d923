import { Client as PgClient } from 'pg';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import type { RedisClient } from '../redis/redis.service';

export const OUTBOX_CHANNEL = 'hostplane_event_outbox';
const RELAY_LOCK_KEY = 4_242_017;
const BATCH = 500;
/** How long a published outbox id is remembered in Redis, so a relay that crashed after XADD
 * and before deleting its rows does not publish them twice. */
const PUBLISHED_MEMORY_MS = 3_600_000;
/** How often some replica's relay looks at the outbox without being woken (PeriodicWork: once per cluster). */
export const OUTBOX_SWEEP_MS = 5000;
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

type PublishRedis = RedisClient & {
  hpPublishOnce(stream: string, seen: string, seenAt: string, ...args: string[]): Promise<string>;
};

export interface OutboxRelayOptions {
  redis: RedisClient;
  streamKey: string;
  maxLength: number;
  databaseUrl: string;
  log: Logger;
  /** Told of each event this relay published, with its stream id. */
  onPublished?: (outboxId: string, streamId: string) => void;
}

/**
 * Writes an event into the outbox and wakes the relays at its commit. Inside the caller's
 * transaction (`tx`) it is exactly as durable as the state change. On its own (`db`) it commits
 * asynchronously: no WAL flush per event (6 ms on this disk), at the price of losing the event if
 * PostgreSQL itself crashes within a fraction of a second; a hub or Redis crash loses nothing.
 */
export async function writeToOutbox(
  tx: EntityManager | DataSource,
  orgId: string,
  type: string,
  data: Record<string, unknown>,
  own = false,
): Promise<string> {
  // set_config(..., true) lasts to the end of this statement's own transaction, i.e. its commit.
  const asyncCommit = own ? `, s AS (SELECT set_config('synchronous_commit', 'off', true))` : '';
  const rows = (await tx.query(
    `WITH ins AS (INSERT INTO event_outbox (org_id, type, data) VALUES ($1, $2, $3) RETURNING id)${asyncCommit}
     SELECT id::text AS id, pg_notify('${OUTBOX_CHANNEL}', '') FROM ins${own ? ', s' : ''}`,
    [orgId, type, JSON.stringify(data)],
  )) as { id: string }[];
  return rows[0]!.id;
}

/**
 * The transactional outbox's relay (decision 0016): events are rows in PostgreSQL, written with
 * the state change that causes them; every replica runs this relay, one at a time under an
 * advisory lock, moving rows to the Redis stream in id order and deleting them once published.
 * Woken by NOTIFY at each commit, by a local kick, and by a slow sweep run by its owner (Redis back after an
 * outage, a lost notification).
 */
export class OutboxRelay {
  /** The relay's own connection: LISTEN and the relay's queries. */
  private client: PgClient | null = null;
  private running = false;
  private again = false;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;

  constructor(private readonly o: OutboxRelayOptions) {
    (o.redis as PublishRedis).defineCommand('hpPublishOnce', { numberOfKeys: 3, lua: PUBLISH_ONCE });
  }

  start(): void {
    void this.listen();
    this.o.redis.on('ready', () => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
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
      if (this.failures === 1 || this.failures % 20 === 0)
        this.o.log.warn(
          { reason: (err as Error).message, retryMs: delay },
          'event relay failed; events stay in the outbox and are published when it recovers',
        );
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.kick(), delay);
    }
  }

  /**
   * One batch in id order under the cluster-wide relay lock; returns how many rows it took. On
   * the relay's own connection (no pool, no ORM: this runs once per event), in four round trips.
   */
  private async relayBatch(): Promise<number | 'busy'> {
    const pg = this.client;
    if (!pg) throw new Error('the relay has no database connection yet');
    const empty = await pg.query('SELECT NOT EXISTS (SELECT 1 FROM event_outbox) AS empty');
    if ((empty.rows[0] as { empty: boolean }).empty) return 0;
    await pg.query('BEGIN');
    try {
      // A lost DELETE only means a republish, which the script turns into a no-op: no WAL flush.
      const res = await pg.query(
        `WITH l AS (SELECT pg_try_advisory_xact_lock($1) AS locked, set_config('synchronous_commit', 'off', true))
         SELECT l.locked, o.id::text AS id, o.org_id, o.type, o.data, o.ts
           FROM l LEFT JOIN LATERAL (SELECT * FROM event_outbox WHERE l.locked ORDER BY id LIMIT ${BATCH}) o ON true`,
        [RELAY_LOCK_KEY],
      );
      const first = res.rows[0] as { locked: boolean } | undefined;
      if (!first?.locked) {
        await pg.query('ROLLBACK');
        return 'busy';
      }
      const rows = (res.rows as (OutboxRow & { id: string | null })[]).filter((r) => r.id !== null);
      const published = await this.publishInOrder(rows);
      if (published.length > 0) await pg.query('DELETE FROM event_outbox WHERE id = ANY($1::bigint[])', [published]);
      await pg.query('COMMIT');
      if (published.length < rows.length)
        throw new Error('redis did not take every event; the rest stay in the outbox');
      return rows.length;
    } catch (err) {
      await pg.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Publishes rows in one pipeline; returns the ids of the published prefix (order holds when Redis fails midway). */
  private async publishInOrder(rows: OutboxRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
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
    const results = (await pipe.exec().catch(() => null)) ?? [];
    const ids: string[] = [];
    for (const [i, r] of rows.entries()) {
      const res = results[i];
      if (!res || res[0]) break;
      ids.push(r.id);
      this.o.onPublished?.(r.id, String(res[1]));
    }
    return ids;
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new PgClient({ connectionString: this.o.databaseUrl });
    client.on('error', () => undefined);
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = null;
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
      this.client = client;
      // Anything committed while we were not listening.
      this.kick();
    } catch (err) {
      this.o.log.warn(
        { reason: (err as Error).message },
        'cannot listen for outbox notifications; relying on the sweep until it can',
      );
      await client.end().catch(() => undefined);
      this.retryListen();
    }
  }

  private retryListen(): void {
    if (!this.stopped) setTimeout(() => void this.listen(), 1000).unref();
  }
}
