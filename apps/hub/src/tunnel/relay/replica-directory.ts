import { deleteIfEquals } from '../../redis/cluster-lock';
import type { RedisClient } from '../../redis/redis.service';

/**
 * Where each replica accepts relay connections: `replica:<id>:relay = <ws url>`, with a TTL kept
 * alive while the replica runs, so a replica that died stops being listed within one TTL.
 */
export class ReplicaDirectory {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: (...parts: string[]) => string,
    private readonly ttlMs: number,
  ) {}

  async advertise(replicaId: string, url: string): Promise<void> {
    await this.redis.set(this.key('replica', replicaId, 'relay'), url, 'PX', this.ttlMs);
  }

  async withdraw(replicaId: string, url: string): Promise<void> {
    await deleteIfEquals(this.redis, this.key('replica', replicaId, 'relay'), url);
  }

  async address(replicaId: string): Promise<string | null> {
    return this.redis.get(this.key('replica', replicaId, 'relay'));
  }
}

/** `<replica>:<epoch>`, as `NodeOwnership` writes it, to the replica id. */
export function ownerReplica(owner: string): string {
  const at = owner.lastIndexOf(':');
  return at > 0 ? owner.slice(0, at) : owner;
}
