import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
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

  it('counts WebSocket upgrades in the same window: a limited client gets 429 before any route runs', async () => {
    const answer = await upgradeStatus(a.url.replace('http', 'ws') + '/v1/ws/subscribe');
    assert.equal(answer.status, 429);
    assert.match(answer.body, /"code":"rate_limited"/);
    assert.ok(Number(answer.headers['retry-after']) >= 1);
  });
});

function upgradeStatus(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}
