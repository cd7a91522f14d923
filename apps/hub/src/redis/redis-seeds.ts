/** Where the hub's Redis is: one server, or the seed nodes of a Redis Cluster. */
export interface RedisTopology {
  cluster: boolean;
  /** The single server's URL (first seed in cluster mode). */
  url: string;
  seeds: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * `HOSTPLANE_REDIS_URL` is one URL, or several comma-separated seed URLs of one Redis Cluster.
 * Several seeds mean cluster mode; `HOSTPLANE_REDIS_CLUSTER=true` makes a single seed one too.
 * Credentials and TLS come from the first seed and apply to every node the cluster reports.
 */
export function parseRedisTopology(value: string, clusterFlag: boolean): RedisTopology {
  const urls = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => new URL(s));
  const first = urls[0];
  if (!first) throw new Error('HOSTPLANE_REDIS_URL is empty');
  return {
    cluster: clusterFlag || urls.length > 1,
    url: first.toString(),
    seeds: urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 6379) })),
    username: first.username ? decodeURIComponent(first.username) : undefined,
    password: first.password ? decodeURIComponent(first.password) : undefined,
    tls: first.protocol === 'rediss:',
  };
}
