import { randomBytes } from 'node:crypto';
import type { RedisClient, RedisService } from './redis.service';

const DELETE_IF_EQUALS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Deletes `key` only while it still holds `value` (a lock or claim released by its holder only), in one round trip. */
export async function deleteIfEquals(client: RedisClient, key: string, value: string): Promise<boolean> {
  return (await client.eval(DELETE_IF_EQUALS, 1, key, value)) === 1;
}

/**
 * Runs `fn` on one replica at a time for `name` (a Redis key with a TTL, released by its owner
 * only): for periodic passes that every replica schedules but one should do. Returns undefined,
 * without running `fn`, while another replica holds it. The TTL bounds a pass whose replica died.
 */
export async function withClusterLock<T>(
  redis: RedisService,
  name: string,
  ttlMs: number,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const key = redis.key('lock', name);
  const token = randomBytes(9).toString('base64url');
  const got = await redis.client.set(key, token, 'PX', ttlMs, 'NX');
  if (got !== 'OK') return undefined;
  try {
    return await fn();
  } finally {
    await deleteIfEquals(redis.client, key, token).catch(() => undefined);
  }
}
