import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';
import { endParkedDisconnects } from './end-parked-disconnects';
import { parseRedisTopology, RedisTopology } from './redis-seeds';

/** A connection to the hub's Redis: one server, or a Redis Cluster (same commands, routed by key slot). */
export type RedisClient = Redis | Cluster;

/** `sharded-subscriber` listens with SSUBSCRIBE (Redis 7 sharded pub/sub): on a cluster, one connection per shard. */
export type RedisRole = 'commands' | 'bullmq' | 'subscriber' | 'sharded-subscriber' | 'publisher';

/** Longest a request-path command waits for Redis; past it the request answers 503 dependency_unavailable. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;

const retryStrategy = (times: number) =>
  Math.min(100 * 2 ** Math.min(times, 6), 3000) + Math.floor(Math.random() * 100);

/**
 * The one factory of Redis connections, for a single Redis or a Redis Cluster alike
 * (`HOSTPLANE_REDIS_URL` with several seeds, or `HOSTPLANE_REDIS_CLUSTER`). `commands` is shared
 * and fails fast while Redis is down (no offline queue), so health checks and rate limits never
 * hang; BullMQ and pub/sub connections get the options those libraries require. BullMQ's shared
 * connection (queue writes such as enqueueing a job) times commands out too; only the blocking
 * connections BullMQ duplicates from it for its workers wait without a bound, as blocking reads must.
 *
 * On a cluster every multi-key command, script and transaction must touch one hash slot: keys
 * that go together carry a `{hash tag}` (see `key`'s callers and docs/operations.md).
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly prefix: string;
  readonly client: RedisClient;
  readonly topology: RedisTopology;
  private readonly owned = new Set<RedisClient>();
  private closed = false;

  constructor(
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.prefix = config.redis.prefix;
    this.topology = parseRedisTopology(config.redis.url, config.redis.cluster);
    this.client = this.connect('commands');
  }

  key(...parts: (string | number)[]): string {
    return [this.prefix, ...parts].join(':');
  }

  connect(role: RedisRole, extra: RedisOptions = {}): RedisClient {
    const options: RedisOptions = {
      connectionName: `hostplane-hub:${role}`,
      retryStrategy,
      connectTimeout: 5000,
      ...roleOptions(role),
      ...extra,
    };
    const client = this.topology.cluster
      ? this.newCluster(role, options)
      : endParkedDisconnects(new Redis(this.topology.url, options));
    let reportedDown = false;
    client.on('error', (err: Error) => {
      if (!reportedDown) this.log.warn({ role, reason: err.message }, 'redis connection error');
      reportedDown = true;
    });
    client.on('ready', () => {
      if (reportedDown) this.log.info({ role }, 'redis connection restored');
      reportedDown = false;
    });
    if (role === 'bullmq') withoutTimeoutOnDuplicates(client, (d) => this.stayClosed(d));
    this.stayClosed(client);
    this.owned.add(client);
    return client;
  }

  private newCluster(role: RedisRole, options: RedisOptions): Cluster {
    const { username, password, tls } = this.topology;
    const { retryStrategy: clusterRetryStrategy, enableOfflineQueue, enableReadyCheck, ...redisOptions } = options;
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...redisOptions, username, password, ...(tls ? { tls: {} } : {}) },
      clusterRetryStrategy,
      enableOfflineQueue,
      enableReadyCheck,
      shardedSubscribers: role === 'sharded-subscriber',
      // A failover moves slots: retry soon on MOVED/CLUSTERDOWN/TRYAGAIN rather than failing the command.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 2000,
      // Commands sent together go out as one pipeline per shard (inOneTrip); not on blocking or subscriber connections.
      enableAutoPipelining: role === 'commands' || role === 'bullmq',
    };
    return new Cluster(this.topology.seeds, clusterOptions);
  }

  /**
   * A client disconnected while a reconnect attempt was starting can come back by itself (ioredis
   * #1247): once the hub has stopped, any connection that opens is closed again, so a stopped hub
   * leaves nothing dialling Redis.
   */
  private stayClosed(client: RedisClient): void {
    client.on('connect', () => {
      if (this.closed) client.disconnect();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
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

function roleOptions(role: RedisRole): RedisOptions {
  if (role === 'commands')
    return { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS };
  if (role === 'bullmq')
    return { maxRetriesPerRequest: null, enableReadyCheck: false, commandTimeout: REDIS_COMMAND_TIMEOUT_MS };
  return { maxRetriesPerRequest: null };
}

/** BullMQ's blocking connections are duplicates of its shared one: they must wait without a timeout. */
function withoutTimeoutOnDuplicates(client: RedisClient, track: (duplicate: RedisClient) => void): void {
  const tracked = <C extends RedisClient>(c: C): C => {
    track(c);
    return c;
  };
  if (client instanceof Cluster) {
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (nodes?: ConstructorParameters<typeof Cluster>[0], override: Partial<ClusterOptions> = {}) =>
      tracked(
        duplicate(nodes, {
          ...override,
          enableAutoPipelining: false,
          redisOptions: { ...(override.redisOptions ?? client.options.redisOptions), commandTimeout: undefined },
        }),
      );
  } else {
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (override?: Partial<RedisOptions>) =>
      tracked(endParkedDisconnects(duplicate({ ...override, commandTimeout: undefined })));
  }
}
