import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { ClusterBus } from '../redis/cluster-bus';

const MAX_ENTRIES = 50_000;
const TOPIC = 'access.invalidate';

type InvalidationListener = (keys: readonly string[]) => void;

interface Entry {
  value: Promise<unknown>;
  expiresAt: number;
}

/**
 * What the access guard needs on every request (a user's status and memberships, a session's
 * revocation, an API token's row), kept for at most `auth.cacheSeconds`. Whoever changes such a
 * fact calls `invalidate`: the entry is dropped here at once and on every other replica through
 * the cluster bus (Redis pub/sub), so a suspension or revocation takes effect immediately; the
 * short TTL bounds the damage of a lost pub/sub message.
 */
@Injectable()
export class AccessCache implements OnModuleInit, OnApplicationShutdown {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<InvalidationListener>();
  private readonly ttlMs: number;

  constructor(
    private readonly bus: ClusterBus,
    @Inject(HUB_CONFIG) config: HubConfig,
  ) {
    this.ttlMs = config.auth.cacheSeconds * 1000;
  }

  // Subscribed even with caching off: open sockets (LiveConnections) re-check on every invalidation.
  onModuleInit(): void {
    this.bus.on(TOPIC, (message) => {
      const keys = Array.isArray(message.keys) ? message.keys.filter((k): k is string => typeof k === 'string') : [];
      this.drop(keys);
    });
  }

  /** Called with the keys of every invalidation, local or from another replica, after they are dropped. */
  onInvalidated(listener: InvalidationListener): void {
    this.listeners.add(listener);
  }

  onApplicationShutdown(): void {
    this.entries.clear();
  }

  /** The cached value of `key`, or `load()`'s (concurrent callers share one load). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs === 0) return load();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value as Promise<T>;
    const value = load();
    const entry: Entry = { value, expiresAt: now + this.ttlMs };
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return value;
  }

  /** Drops keys here and on every replica. Await it before answering the request that changed them. */
  async invalidate(...keys: string[]): Promise<void> {
    if (!keys.length) return;
    this.drop(keys);
    await this.bus.publish(TOPIC, { keys });
  }

  private drop(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
    for (const listener of this.listeners) listener(keys);
  }
}

/** Cache keys, in one place so writers and readers agree. */
export const accessKeys = {
  user: (userId: string) => `user:${userId}`,
  session: (sessionId: string) => `session:${sessionId}`,
  apiToken: (tokenHash: string) => `pat:${tokenHash}`,
  org: (orgId: string) => `org:${orgId}`,
};
