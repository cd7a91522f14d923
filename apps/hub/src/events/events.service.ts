import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { RedisService } from '../redis/redis.service';
import { compareStreamIds } from './stream-id';

export interface HubEvent {
  /** Redis stream id: increases monotonically (across the cluster, so within every organization). */
  id: string;
  org_id: string;
  type: string;
  ts: string;
  data: Record<string, unknown>;
}

export class CursorExpiredError extends DomainError {
  constructor(since: string, oldest: string | null) {
    super(
      `events after ${since} are no longer retained${oldest ? ` (oldest kept: ${oldest})` : ''}: reload current state, then subscribe without "since"`,
      'cursor_expired',
      410,
      { oldest_id: oldest },
    );
  }
}

type Listener = (e: HubEvent) => void;
const READ_BLOCK_MS = 2000;
const TRIM_EVERY_MS = 60_000;

/**
 * User-visible events (node online/offline, operation progress and results, …) in one capped
 * Redis stream. Each replica follows the stream with one blocking reader and hands events to
 * its local subscribers in stream order; a subscriber that comes back with an id replays what
 * it missed from the stream itself, so replay and live delivery share one order and one id space.
 */
@Injectable()
export class EventsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly key: string;
  private readonly listeners = new Set<Listener>();
  private reader?: Redis;
  private lastId = '$';
  private running = false;
  private trimTimer?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.key = redis.key('events');
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.reader = this.redis.connect('subscriber');
    void this.follow();
    this.trimTimer = setInterval(() => void this.trimByAge(), TRIM_EVERY_MS);
  }

  beforeApplicationShutdown(): void {
    this.running = false;
    if (this.trimTimer) clearInterval(this.trimTimer);
    this.reader?.disconnect();
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish(orgId: string, type: string, data: Record<string, unknown>): Promise<string | null> {
    try {
      return await this.redis.client.xadd(
        this.key,
        'MAXLEN',
        '~',
        this.config.events.maxLength,
        '*',
        'org',
        orgId,
        'type',
        type,
        'ts',
        new Date().toISOString(),
        'data',
        JSON.stringify(data),
      );
    } catch (err) {
      this.log.warn({ type, reason: (err as Error).message }, 'event not published (redis unavailable)');
      return null;
    }
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
    const info = (await this.redis.client.call('XINFO', 'STREAM', this.key).catch(() => null)) as unknown[] | null;
    if (!info) return;
    const field = (name: string) => info[info.indexOf(name) + 1];
    const first = field('first-entry') as [string, string[]] | null;
    const trimmed = Number(field('entries-added')) > Number(field('length'));
    if (first && trimmed && compareStreamIds(since, first[0]) < 0) throw new CursorExpiredError(since, first[0]);
  }

  private async follow(): Promise<void> {
    while (this.running && this.reader) {
      try {
        if (this.lastId === '$') {
          const last = (await this.redis.client.xrevrange(this.key, '+', '-', 'COUNT', 1)) as [string, string[]][];
          this.lastId = last[0]?.[0] ?? '0-0';
        }
        const res = (await this.reader.xread('COUNT', 500, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.key, this.lastId)) as [string, [string, string[]][]][] | null;
        for (const [, entries] of res ?? []) {
          for (const entry of entries) {
            this.lastId = entry[0];
            const event = toEvent(entry);
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

  private async trimByAge(): Promise<void> {
    const minId = `${Date.now() - this.config.events.maxAgeSeconds * 1000}-0`;
    await this.redis.client.xtrim(this.key, 'MINID', '~', minId).catch(() => undefined);
  }
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
