import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OwnRedis } from './support/redis-server';
import { startTestHub, TestHub } from './support/test-hub';

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('health and metrics', () => {
  let redis: OwnRedis;
  let hub: TestHub;
  before(async () => {
    redis = await OwnRedis.start();
    hub = await startTestHub({ env: { HOSTPLANE_REDIS_URL: redis.url } });
  });
  after(async () => {
    await hub.close();
    await redis.kill();
  });

  it('live answers without touching dependencies', async () => {
    for (const path of ['/health', '/health/live']) {
      const res = await hub.request(path);
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'ok');
    }
  });

  it('ready checks Postgres and Redis, and /ready is the same', async () => {
    for (const path of ['/health/ready', '/ready']) {
      const res = await hub.request(path);
      assert.equal(res.status, 200);
      assert.equal(res.body.checks.postgres.status, 'up');
      assert.equal(res.body.checks.redis.status, 'up');
    }
  });

  it('detailed shows versions, uptime and latencies', async () => {
    const res = await hub.request('/health/detailed');
    assert.equal(res.status, 200);
    assert.match(res.body.versions.postgres, /^\d+/);
    assert.match(res.body.versions.redis, /^\d+\.\d+/);
    assert.equal(res.body.versions.node, process.versions.node);
    assert.equal(typeof res.body.checks.redis.latency_ms, 'number');
    assert.ok(res.body.uptime_seconds >= 0);
  });

  it('ready turns 503 naming redis when Redis stops, and 200 when it returns', async () => {
    await redis.kill();
    const down = await until('503', async () => {
      const r = await hub.request('/health/ready');
      return r.status === 503 ? r : undefined;
    });
    assert.equal(down.body.code, 'not_ready');
    assert.equal(down.body.error, 'not ready: redis unreachable');
    assert.equal(down.body.checks.redis.status, 'down');
    assert.equal(down.body.checks.postgres.status, 'up');
    const live = await hub.request('/health/live');
    assert.equal(live.status, 200, 'liveness does not depend on Redis');

    await redis.start();
    const up = await until('200', async () => {
      const r = await hub.request('/health/ready');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(up.body.status, 'ready');
  });

  it('metrics expose request durations by route and status, and process metrics', async () => {
    await hub.request('/health/live');
    await hub.request('/nope');
    const res = await hub.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(
      res.text,
      /hostplane_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
    assert.match(
      res.text,
      /hostplane_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} \d+/,
    );
    assert.match(res.text, /hostplane_hub_process_resident_memory_bytes \d+/);
  });
});
