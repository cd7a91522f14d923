import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testRedisPrefix, TestDatabase } from './support/test-env';
import { deleteRedisPrefix, startTestHub, TestHub } from './support/test-hub';

describe('rate limiting', () => {
  let db: TestDatabase;
  let prefix: string;
  let a: TestHub;
  let b: TestHub;
  before(async () => {
    db = await createTestDatabase();
    prefix = testRedisPrefix();
    const env = { HOSTPLANE_RATE_LIMIT_MAX: '5', HOSTPLANE_RATE_LIMIT_WINDOW_SECONDS: '30' };
    a = await startTestHub({ database: db, redisPrefix: prefix, env });
    b = await startTestHub({ database: db, redisPrefix: prefix, env });
  });
  after(async () => {
    await a.close();
    await b.close();
    await db.drop();
    await deleteRedisPrefix(prefix);
  });

  it('counts down across two hub replicas, then answers 429 rate_limited with Retry-After', async () => {
    const seen: number[] = [];
    for (const hub of [a, b, a, b, a]) {
      const res = await hub.request('/health/live');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-limit'), '5');
      seen.push(Number(res.headers.get('x-ratelimit-remaining')));
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      assert.ok(reset > Date.now() / 1000 && reset <= Date.now() / 1000 + 31, `reset ${reset} is the window end`);
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0]);
    const limited = await b.request('/health/live');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'rate_limited');
    assert.equal(limited.headers.get('x-ratelimit-remaining'), '0');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 30);
  });

  it('also limits unknown routes', async () => {
    const res = await a.request('/no/such/route');
    assert.equal(res.status, 429);
  });
});
