import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { paginationQuery, toPage } from '../src/http/pagination';
import { ProbeModule } from './fixtures/probe.module';
import { startTestHub, TestHub } from './support/test-hub';

describe('HTTP conventions', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ extraModules: [ProbeModule], env: { HOSTPLANE_BODY_LIMIT_BYTES: '4096' } });
  });
  after(() => hub.close());

  it('malformed JSON gets 400 invalid_json in the envelope', async () => {
    const res = await hub.request('/test/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name": ',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: 'request body is not valid JSON', code: 'invalid_json' });
  });

  it('a body over the limit gets 413 payload_too_large', async () => {
    const res = await hub.request('/test/echo', { method: 'POST', json: { name: 'x'.repeat(5000), count: 1 } });
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'payload_too_large');
    assert.equal(typeof res.body.error, 'string');
  });

  it('an unknown route gets 404 not_found', async () => {
    const res = await hub.request('/v1/nothing-here?x=1');
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error: 'no route for GET /v1/nothing-here', code: 'not_found' });
  });

  it('a body failing its schema gets 400 validation_failed naming each field', async () => {
    const res = await hub.request('/test/echo', { method: 'POST', json: { name: '', count: -1, extra: true } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'validation_failed');
    const paths = (res.body.fields as { path: string }[]).map((f) => f.path).sort();
    assert.deepEqual(paths, ['', 'count', 'name']);
    assert.match(res.body.error, /^invalid body: /);
  });

  it('a query failing its schema is a 400 too, and a valid one is parsed', async () => {
    const bad = await hub.request('/test/slow?ms=abc');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.fields[0].path, 'ms');
    const good = await hub.request('/test/slow?ms=1');
    assert.deepEqual(good.body, { slept_ms: 1 });
  });

  it('a valid body passes through', async () => {
    const res = await hub.request('/test/echo', { method: 'POST', json: { name: 'a', count: 2 } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body, { name: 'a', count: 2 });
  });

  it('echoes a safe X-Request-Id and generates one otherwise', async () => {
    const echoed = await hub.request('/health/live', { headers: { 'x-request-id': 'trace-123.abc' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-123.abc');
    const unsafe = await hub.request('/health/live', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    assert.match(unsafe.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const generated = await hub.request('/health/live');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const line = hub.logs.entries().find((e) => e.reqId === 'trace-123.abc');
    assert.equal(line?.status, 200);
  });

  it('pagination defaults to 50, caps at 500 and returns {data,total}', () => {
    assert.deepEqual(paginationQuery.parse({}), { limit: 50, offset: 0 });
    assert.deepEqual(paginationQuery.parse({ limit: '10', offset: '20' }), { limit: 10, offset: 20 });
    assert.equal(paginationQuery.safeParse({ limit: '501' }).success, false);
    assert.equal(paginationQuery.safeParse({ offset: '-1' }).success, false);
    assert.deepEqual(toPage([1, 2], 7), { data: [1, 2], total: 7 });
  });
});
