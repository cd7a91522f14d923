import type { Type } from '@nestjs/common';
import Redis from 'ioredis';
import { createHubApp, HubApp } from '../../src/app.factory';
import { HubConfig, loadConfig } from '../../src/config/load-config';
import { traceShutdownHooks } from '../../src/process/shutdown-trace';
import { LogCapture } from './log-capture';
import { createTestDatabase, TestDatabase, tempDir, testRedisPrefix, testRedisUrl } from './test-env';

export interface TestHubOptions {
  /** Extra HOSTPLANE_* variables for this hub. */
  env?: Record<string, string>;
  extraModules?: Type[];
  /** Share a database with another test hub (scale-out tests). */
  database?: TestDatabase;
  redisPrefix?: string;
}

export interface TestHub extends HubApp {
  url: string;
  config: HubConfig;
  logs: LogCapture;
  database: TestDatabase;
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export function testEnv(db: TestDatabase, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOSTPLANE_ENV: 'test',
    HOSTPLANE_HOST: '127.0.0.1',
    HOSTPLANE_PORT: '0',
    HOSTPLANE_DATABASE_URL: db.url,
    HOSTPLANE_REDIS_URL: testRedisUrl,
    HOSTPLANE_REDIS_PREFIX: prefix,
    HOSTPLANE_DATA_DIR: tempDir(),
    HOSTPLANE_LOG_LEVEL: 'info',
    HOSTPLANE_RATE_LIMIT_MAX: '100000',
    HOSTPLANE_RATE_LIMIT_AUTH_MAX: '100000',
    // Each hub's nodes get a port range of their own: test hubs share one host, their containers its ports.
    HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS: defaultPoolForTest(),
    ...extra,
  };
}

/**
 * Below Linux's ephemeral range (32768-60999): a pool inside it collides with the local port of
 * some outgoing connection, and Docker's port publishing then fails with "address already in use".
 * Above the Redis Cluster test ports' range (21000-29000 and bus ports +10000) stays clear as well.
 */
function defaultPoolForTest(): string {
  const base = 10_000 + Math.floor(Math.random() * 100) * 100;
  return `0.0.0.0:${base}-${base + 99}`;
}

/** Boots a real hub on a fresh database and its own Redis prefix, listening on a free port. */
export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const database = options.database ?? (await createTestDatabase());
  const prefix = options.redisPrefix ?? testRedisPrefix();
  const config = loadConfig({ env: testEnv(database, prefix, options.env) });
  const logs = new LogCapture();
  const hub = await createHubApp({ config, logDestination: logs, extraModules: options.extraModules });
  await hub.app.listen({ host: '127.0.0.1', port: 0 });
  const pendingHooks = traceShutdownHooks(hub.app);
  const address = hub.app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;

  const request = async (path: string, init: RequestInit & { json?: unknown } = {}): Promise<TestResponse> => {
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    const res = await fetch(url + path, { ...init, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    ...hub,
    url,
    config,
    logs,
    database,
    request,
    async close() {
      await closeWithin(hub.app, pendingHooks, CLOSE_BOUND_MS);
      if (!options.database) await database.drop();
      if (!options.redisPrefix) await deleteRedisPrefix(prefix);
    },
  };
}

/** A hub whose close hangs fails its test, naming what it waits for, instead of stalling the run. */
const CLOSE_BOUND_MS = Number(process.env.HOSTPLANE_TEST_CLOSE_BOUND_MS ?? 60_000);

async function closeWithin(app: HubApp['app'], pendingHooks: () => string[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const hooks = pendingHooks();
      const what = hooks.length
        ? hooks.join(', ')
        : 'no shutdown hook: the HTTP server is still waiting on open connections';
      reject(new Error(`hub close did not finish within ${ms / 1000} s; waiting on ${what}`));
    }, ms);
  });
  try {
    await Promise.race([app.close(), bound]);
  } finally {
    clearTimeout(timer);
  }
}

export async function deleteRedisPrefix(prefix: string, url = testRedisUrl): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // A test that stopped its own Redis leaves nothing to clean in the shared one.
  } finally {
    redis.disconnect();
  }
}
