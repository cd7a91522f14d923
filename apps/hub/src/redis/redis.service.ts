import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';

export type RedisRole = 'commands' | 'bullmq' | 'subscriber' | 'publisher';

/** Longest a request-path command waits for Redis; past it the request answers 503 dependency_unavailable. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

/**
 * The one factory of Redis connections. `commands` is shared and fails fast while Redis is
 * down (no offline queue), so health checks and rate limits never hang; BullMQ and pub/sub
 * connections get the options those libraries require. BullMQ's shared connection (queue
 * writes such as enqueueing a job) times commands out too; only the blocking connections
 * BullMQ duplicates from it for its workers wait without a bound, as blocking reads must.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly prefix: string;
  readonly client: Redis;
  private readonly owned = new Set<Redis>();

  constructor(
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.prefix = config.redis.prefix;
    this.client = this.connect('commands');
  }

  key(...parts: (string | number)[]): string {
    return [this.prefix, ...parts].join(':');
  }

  connect(role: RedisRole, extra: RedisOptions = {}): Redis {
    const base: RedisOptions = {
      connectionName: `hostplane-hub:${role}`,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 3000) + Math.floor(Math.random() * 100),
      connectTimeout: 5000,
    };
    const roleOptions: RedisOptions =
      role === 'commands'
        ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS }
        : role === 'bullmq'
          ? { maxRetriesPerRequest: null, enableReadyCheck: false, commandTimeout: REDIS_COMMAND_TIMEOUT_MS }
          : { maxRetriesPerRequest: null };
    const client = new Redis(this.config.redis.url, { ...base, ...roleOptions, ...extra });
    let reportedDown = false;
    client.on('error', (err: Error) => {
      if (!reportedDown) this.log.warn({ role, reason: err.message }, 'redis connection error');
      reportedDown = true;
    });
    client.on('ready', () => {
      if (reportedDown) this.log.info({ role }, 'redis connection restored');
      reportedDown = false;
    });
    if (role === 'bullmq') {
      const duplicate = client.duplicate.bind(client);
      client.duplicate = (override?: Partial<RedisOptions>) => duplicate({ ...override, commandTimeout: undefined });
    }
    this.owned.add(client);
    return client;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.owned].map(async (c) => {
        try {
          if (c.status === 'ready') await c.quit();
          else c.disconnect();
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}
