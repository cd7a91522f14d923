import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.service';

/**
 * One command per key for many keys in one round trip. On one Redis that is a pipeline; on a
 * cluster a pipeline may only touch one shard, so the commands are sent together and ioredis's
 * auto-pipelining (on for cluster connections) groups them into one pipeline per shard. Answers
 * `[error, result]` per call, in order, as `pipeline().exec()` does.
 */
export async function inOneTrip<C extends RedisClient>(
  client: C,
  calls: ((target: C) => unknown)[],
): Promise<[Error | null, unknown][]> {
  if (calls.length === 0) return [];
  if (client instanceof Cluster) {
    return Promise.all(
      calls.map((call) =>
        (call(client) as Promise<unknown>).then(
          (v): [null, unknown] => [null, v],
          (err: Error): [Error, null] => [err, null],
        ),
      ),
    );
  }
  const pipe = client.pipeline();
  for (const call of calls) call(pipe as unknown as C);
  return ((await pipe.exec()) ?? []) as [Error | null, unknown][];
}

/** Every key matching `pattern`: on a cluster each master holds its own part of the key space. */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const servers = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, batch] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 200);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}
