import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteRedisPrefix } from '@hostplane/hub/dist/test/support/test-hub';
import { Client } from 'pg';
import { BenchServer, startChildServer } from './child-server';
import { undoOnInterrupt } from './cleanup';

export const adminUrl = process.env.HOSTPLANE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.HOSTPLANE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchHubOptions {
  /** Extra HOSTPLANE_* variables (they win over the defaults below), e.g. a lower rate limit to measure rejections. */
  env?: Record<string, string>;
  /**
   * A compiled child entry to run instead of lib/hub-server.js, e.g. the hub plus benchmark-only routes
   * (bench/auth-hub-server.ts).
   */
  entry?: string;
  /**
   * Another replica of this hub: the same database, Redis prefix and data dir (so the same generated keys); that hub's
   * `close` drops them.
   */
  replicaOf?: BenchHub;
}

export interface BenchHub extends BenchServer {
  /** The throwaway database, e.g. to find the hub's backends in pg_stat_activity. */
  database: string;
  /** Prefix of every Redis key the hub writes. */
  redisPrefix: string;
  dataDir: string;
}

/**
 * Boots the real hub in a child process on a throwaway database (auto-migrated at start) and
 * its own Redis prefix; `close` stops it and drops both. The rate limiter runs on every request
 * but its limit is far above what a run can send, and request logs (info) are off.
 */
export async function startBenchHub(options: BenchHubOptions = {}): Promise<BenchHub> {
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const replicaOf = options.replicaOf;
  const database = replicaOf?.database ?? `hp_bench_${id}`;
  const prefix = replicaOf?.redisPrefix ?? `hp_bench_${id}`;
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${database}`;

  if (!replicaOf) await admin(`CREATE DATABASE "${database}"`);
  const dataDir = replicaOf?.dataDir ?? mkdtempSync(join(tmpdir(), 'hostplane-bench-'));
  // Every step runs even if an earlier one fails, so one error does not leave the rest behind.
  const cleanUp = async () => {
    if (replicaOf) return;
    const steps = await Promise.allSettled([
      admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
      deleteRedisPrefix(prefix, redisUrl),
      Promise.resolve().then(() => rmSync(dataDir, { recursive: true, force: true })),
    ]);
    const failed = steps.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  };
  const forget = undoOnInterrupt(cleanUp);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOSTPLANE_ENV: 'development',
    HOSTPLANE_HOST: '127.0.0.1',
    HOSTPLANE_PORT: '0',
    HOSTPLANE_DATABASE_URL: databaseUrl.toString(),
    HOSTPLANE_DATABASE_AUTO_MIGRATE: 'true',
    HOSTPLANE_REDIS_URL: redisUrl,
    HOSTPLANE_REDIS_PREFIX: prefix,
    HOSTPLANE_DATA_DIR: dataDir,
    HOSTPLANE_LOG_LEVEL: 'warn',
    HOSTPLANE_RATE_LIMIT_MAX: '10000000',
    HOSTPLANE_RATE_LIMIT_AUTH_MAX: '10000000',
    ...options.env,
  };
  // Node flags for the hub only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (NODE_OPTIONS refuses
  // --cpu-prof, and would apply to the benchmark process as well).
  const nodeArgs = (process.env.HOSTPLANE_BENCH_HUB_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  let server: BenchServer;
  try {
    server = await startChildServer(options.entry ?? join(__dirname, 'hub-server.js'), [], env, nodeArgs);
  } catch (err) {
    forget();
    await cleanUp();
    throw err;
  }
  return {
    url: server.url,
    pid: server.pid,
    database,
    redisPrefix: prefix,
    dataDir,
    close: async () => {
      try {
        await server.close();
      } finally {
        forget();
        await cleanUp();
      }
    },
  };
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `bench: cannot reach PostgreSQL at ${adminUrl} (${(err as Error).message}); start it or set HOSTPLANE_BENCH_PG_URL`,
    );
  }
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
