import { EVENT_ERRORS } from './events.errors';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { PeriodicWork } from '../periodic/periodic-work';
import { type RedisClient, RedisService } from '../redis/redis.service';
import { OUTBOX_SWEEP_MS, OutboxRelay, writeToOutbox } from './event-outbox';
import { compareStreamIds } from './stream-id';

export interface HubEvent {
  /** Redis stream id: increases monotonically (across the cluster, so within every organization). */
  id: string;
  org_id: string;
  type: string;
  ts: string;
  data: Record<string, unknown>;
}

function cursorExpired(since: string, oldest: string | null): DomainError {
  return EVENT_ERRORS.cursor_expired.error(
    `events after ${since} are no longer retained${oldest ? ` (oldest kept: ${oldest})` : ''}: reload current state, then subscribe without "since"`,
    { oldest_id: oldest },
  );
}

type Listener = (e: HubEvent) => void;
const READ_BLOCK_MS = 2000;
/** How long `publish` waits to learn its event's stream id before answering null. */
const PUBLISH_WAIT_MS = 3000;
const RECENTLY_SEEN_MAX = 5000;
const TRIM_EVERY_MS = 60_000;
const XINFO_STREAM = `return redis.call('XINFO', 'STREAM', KEYS[1])`;

/**
 * User-visible events (node online/offline, operation progress and results, …) in one capped
 * Redis stream, fed from a transactional outbox in PostgreSQL (event-outbox.ts), so an event
 * written while Redis is down is published when it returns. Each replica follows the stream with
 * one blocking reader and hands events to its local subscribers in stream order; a subscriber
 * that comes back with an id replays what it missed from the stream itself, so replay and live
 * delivery share one order and one id space.
 */
@Injectable()
export class EventsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly key: string;
  private readonly listeners = new Set<Listener>();
  private reader?: RedisClient;
  private lastId = '$';
  private running = false;
  private readonly relay: OutboxRelay;
  /** Outbox ids this replica published and waits to see in the stream, with their resolvers. */
  private readonly seenWaiters = new Map<string, (streamId: string | null) => void>();
  /**
   * Outbox ids seen lately, for a publisher that starts waiting after its event went out (NOTIFY can beat the INSERT's
   * reply).
   */
  private readonly recentlySeen = new Map<string, string>();

  constructor(
    private readonly redis: RedisService,
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {
    // A hash tag: the stream and the outbox script's memory keys (`<key>:outbox-published…`) share one cluster slot.
    this.key = redis.key('{events}');
    this.relay = new OutboxRelay({
      redis: redis.client,
      streamKey: this.key,
      maxLength: config.events.maxLength,
      databaseUrl: config.database.url,
      log,
      onPublished: (outboxId, streamId) => this.resolveSeen(outboxId, streamId),
    });
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.reader = this.redis.connect('subscriber');
    void this.follow();
    this.relay.start();
    this.periodic.register({ kind: 'events.trim-by-age', everyMs: TRIM_EVERY_MS, run: () => this.trimByAge() });
    this.periodic.register({
      kind: 'events.outbox-sweep',
      everyMs: OUTBOX_SWEEP_MS,
      run: async () => this.relay.kick(),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.relay.stop();
    this.reader?.disconnect();
    for (const resolve of this.seenWaiters.values()) resolve(null);
    this.seenWaiters.clear();
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Records an event. Inside a transaction (`tx`) it is written with the state change and
   * published after the commit (call `flushOutbox` then); without one it is written at once and
   * published by the relay. Never waits for Redis: while Redis is down the event stays in the
   * outbox and goes out when it returns.
   */
  async publish(orgId: string, type: string, data: Record<string, unknown>, tx?: EntityManager): Promise<void> {
    if (tx) {
      await writeToOutbox(tx, orgId, type, data);
      return;
    }
    await this.record(orgId, type, data);
  }

  /**
   * `publish`, then the event's stream id once this replica's reader has seen it (null when
   * Redis is down for longer than a few seconds): for callers that resume a stream from it.
   */
  async publishAndWait(orgId: string, type: string, data: Record<string, unknown>): Promise<string | null> {
    const outboxId = await this.record(orgId, type, data);
    if (!outboxId) return null;
    const already = this.recentlySeen.get(outboxId);
    if (already) return already;
    return new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => {
        this.seenWaiters.delete(outboxId);
        resolve(null);
      }, PUBLISH_WAIT_MS);
      this.seenWaiters.set(outboxId, (id) => {
        clearTimeout(timer);
        resolve(id);
      });
    });
  }

  private async record(orgId: string, type: string, data: Record<string, unknown>): Promise<string | null> {
    try {
      const outboxId = await writeToOutbox(this.db, orgId, type, data, true);
      this.relay.kick();
      return outboxId;
    } catch (err) {
      this.log.error({ type, reason: (err as Error).message }, 'event not recorded (database unavailable)');
      return null;
    }
  }

  /** Publishes what is in the outbox now (after a commit that wrote events in a transaction). */
  flushOutbox(): void {
    this.relay.kick();
  }

  /** Events after `since` (exclusive), oldest first; throws cursor_expired if some were trimmed. */
  async *replay(since: string): AsyncGenerator<HubEvent> {
    await this.assertRetained(since);
    let from = `(${since}`;
    for (;;) {
      const batch = (await this.redis.client.xrange(this.key, from, '+', 'COUNT', 500)) as [string, string[]][];
      for (const entry of batch) yield toEvent(entry);
      if (batch.length < 500) return;
      from = `(${batch[batch.length - 1]![0]}`;
    }
  }

  /**
   * Trimming (by length or age) does not record the last removed id, so a cursor counts as
   * expired when it is older than the first retained event and some events were trimmed: the
   * ones between it and the first retained event may be gone.
   */
  async assertRetained(since: string): Promise<void> {
    // Through a script so that a cluster routes it by the stream's key (XINFO itself names no key position).
    const info = (await this.redis.client.eval(XINFO_STREAM, 1, this.key).catch(() => null)) as unknown[] | null;
    if (!info) return;
    const field = (name: string) => info[info.indexOf(name) + 1];
    const first = field('first-entry') as [string, string[]] | null;
    const trimmed = Number(field('entries-added')) > Number(field('length'));
    if (first && trimmed && compareStreamIds(since, first[0]) < 0) throw cursorExpired(since, first[0]);
  }

  private async follow(): Promise<void> {
    while (this.running && this.reader) {
      try {
        if (this.lastId === '$') {
          const last = (await this.redis.client.xrevrange(this.key, '+', '-', 'COUNT', 1)) as [string, string[]][];
          this.lastId = last[0]?.[0] ?? '0-0';
        }
        const res = (await this.reader.xread(
          'COUNT',
          500,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          this.key,
          this.lastId,
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of res ?? []) {
          for (const entry of entries) {
            this.lastId = entry[0];
            const event = toEvent(entry);
            const oid = outboxIdOf(entry);
            if (oid) this.resolveSeen(oid, entry[0]);
            for (const l of this.listeners) l(event);
          }
        }
      } catch (err) {
        if (!this.running) return;
        this.log.warn({ reason: (err as Error).message }, 'event stream read failed, retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private resolveSeen(outboxId: string, streamId: string): void {
    this.recentlySeen.set(outboxId, streamId);
    if (this.recentlySeen.size > RECENTLY_SEEN_MAX)
      this.recentlySeen.delete(this.recentlySeen.keys().next().value as string);
    const resolve = this.seenWaiters.get(outboxId);
    if (!resolve) return;
    this.seenWaiters.delete(outboxId);
    resolve(streamId);
  }

  private async trimByAge(): Promise<void> {
    const minId = `${Date.now() - this.config.events.maxAgeSeconds * 1000}-0`;
    await this.redis.client.xtrim(this.key, 'MINID', '~', minId).catch(() => undefined);
  }
}

function outboxIdOf([, fields]: [string, string[]]): string | undefined {
  const i = fields.indexOf('oid');
  return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
}

function toEvent([id, fields]: [string, string[]]): HubEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(f.data ?? '{}') as Record<string, unknown>;
  } catch {
    data = {};
  }
  return { id, org_id: f.org ?? '', type: f.type ?? '', ts: f.ts ?? '', data };
}
