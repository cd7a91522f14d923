import { deleteIfEquals } from '../redis/cluster-lock';
import { inOneTrip } from '../redis/redis-batches';
import type { RedisClient } from '../redis/redis.service';
import { HUB_INSTANCE_ID } from './hub-instance';

// Refresh the TTL only while the key still names us: a replica that lost the node must not extend it.
const REFRESH_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

type OwnershipRedis = RedisClient & {
  hpRefreshOwner(key: string, owner: string, ttlMs: number): Promise<number>;
};

/**
 * Fencing for "one live socket per node" across replicas: every connection takes a new epoch
 * (from the node's row) and writes `node:<id>:owner = <replica>:<epoch>` with a TTL kept alive
 * by heartbeats.
 */
export class NodeOwnership {
  private readonly redis: OwnershipRedis;

  constructor(
    redis: RedisClient,
    private readonly key: (...parts: string[]) => string,
    private readonly ttlMs: number,
  ) {
    if (!('hpRefreshOwner' in redis)) {
      redis.defineCommand('hpRefreshOwner', { numberOfKeys: 1, lua: REFRESH_IF_OWNER });
    }
    this.redis = redis as OwnershipRedis;
  }

  ownerValue(epoch: number): string {
    return `${HUB_INSTANCE_ID}:${epoch}`;
  }

  /** `epoch` comes from PostgreSQL (it must keep increasing even if Redis loses its data). */
  async claim(nodeId: string, epoch: number): Promise<void> {
    await this.redis.set(this.key('node', nodeId, 'owner'), this.ownerValue(epoch), 'PX', this.ttlMs);
  }

  /** Refreshes many in one round trip; returns the node ids this replica no longer owns. */
  async refresh(entries: { nodeId: string; epoch: number }[]): Promise<string[]> {
    if (entries.length === 0) return [];
    const results = await inOneTrip(
      this.redis,
      entries.map(
        (e) => (r: OwnershipRedis) =>
          r.hpRefreshOwner(this.key('node', e.nodeId, 'owner'), this.ownerValue(e.epoch), this.ttlMs),
      ),
    );
    return entries.filter((_, i) => results[i]?.[1] === 0).map((e) => e.nodeId);
  }

  async release(nodeId: string, epoch: number): Promise<void> {
    await deleteIfEquals(this.redis, this.key('node', nodeId, 'owner'), this.ownerValue(epoch));
  }

  async owner(nodeId: string): Promise<string | null> {
    return this.redis.get(this.key('node', nodeId, 'owner'));
  }
}
