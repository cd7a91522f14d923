import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, SignJWT } from 'jose';
import { FAST_JOBS_ENV, TestNode } from './support/agents';
import { newInstance, newWorkload, onlineNode } from './support/backups';
import { Client, IdentityContext, strongPassword, uniqueEmail } from './support/identity';
import { OwnRedis } from './support/redis-server';
import type { TestResponse } from './support/test-hub';

function assertEnvelope(res: TestResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.code, code, res.text);
  assert.equal(typeof res.body.error, 'string');
}

describe('bad input is a 400, never a 500', () => {
  let ctx: IdentityContext;
  let admin: Client;

  before(async () => {
    ctx = await IdentityContext.start();
    admin = ctx.admin.inOrg(ctx.admin.personalOrgId);
  });
  after(async () => {
    await ctx?.close();
  });

  it('NUL and lone surrogates in any JSON string, key, query or path parameter are invalid_text', async () => {
    const nul = await admin.request('/v1/organizations', { method: 'POST', json: { name: 'a\u0000b' } });
    assertEnvelope(nul, 400, 'invalid_text');
    assert.equal(nul.body.fields[0].path, 'name');
    const surrogate = await admin.request('/v1/organizations', { method: 'POST', json: { name: '\ud800' } });
    assertEnvelope(surrogate, 400, 'invalid_text');
    const lowAlone = await admin.request('/v1/api-tokens', {
      method: 'POST',
      json: { name: 'ok', scopes: ['x\udc00'] },
    });
    assertEnvelope(lowAlone, 400, 'invalid_text');
    assert.equal(lowAlone.body.fields[0].path, 'scopes.0');
    const key = await admin.request('/v1/organizations', { method: 'POST', json: { name: 'fine', ['k\u0000']: 1 } });
    assertEnvelope(key, 400, 'invalid_text');
    // Routes without a body schema are covered too: the check runs before every handler.
    const query = await admin.request('/v1/admin/audit-logs?action=a%00b');
    assertEnvelope(query, 400, 'invalid_text');
    const param = await admin.request('/v1/instances/a%00b');
    assertEnvelope(param, 400, 'invalid_text');
    // A well-formed pair (an emoji) is fine.
    const emoji = await admin.request('/v1/organizations', { method: 'POST', json: { name: 'rocket \ud83d\ude80' } });
    assert.equal(emoji.status, 201, emoji.text);
    assert.equal(emoji.body.name, 'rocket \u{1f680}');
  });

  it('dates outside 1970-9999 and stream ids beyond 64 bits are 400', async () => {
    const nodeHistory = await admin.request(`/v1/nodes/${randomUUID()}/metrics/history?from=0000-01-01T00:00:00Z`);
    assertEnvelope(nodeHistory, 400, 'validation_failed');
    assert.match(nodeHistory.body.error, /1970-01-01 and 9999-12-31/);
    const instanceHistory = await admin.request(
      `/v1/instances/${randomUUID()}/metrics/history?from=0000-01-01T00:00:00Z`,
    );
    assertEnvelope(instanceHistory, 400, 'validation_failed');
    assertEnvelope(await admin.request('/v1/admin/audit-logs?from=0001-01-01T00:00:00Z'), 400, 'validation_failed');
    assertEnvelope(await admin.request('/v1/operations?to=0000-01-01T00:00:00Z'), 400, 'validation_failed');
    const stream = await admin.request('/v1/events/stream?since=99999999999999999999-0');
    assertEnvelope(stream, 400, 'validation_failed');
    const header = await admin.request('/v1/events/stream', { headers: { 'last-event-id': '1-99999999999999999999' } });
    assertEnvelope(header, 400, 'validation_failed');
    // In range, the same routes answer normally.
    assert.equal((await admin.request('/v1/admin/audit-logs?from=2020-01-01T00:00:00Z')).status, 200);
  });

  it('names refuse control, bidi-override and newline characters, through one schema', async () => {
    const hostile = ['\u202eevil', '\x1b[31mred', 'a\nb', 'tab\there', 'bell\x07', 'iso\u2066late', 'line\u2028sep'];
    for (const name of hostile) {
      const org = await admin.request('/v1/organizations', { method: 'POST', json: { name } });
      assertEnvelope(org, 400, 'validation_failed');
      assert.match(
        org.body.error,
        /name: must not contain control, bidirectional-override or line-break characters/,
        JSON.stringify(name),
      );
      const token = await admin.request('/v1/api-tokens', { method: 'POST', json: { name } });
      assertEnvelope(token, 400, 'validation_failed');
      const user = await admin.request('/v1/users', {
        method: 'POST',
        json: { email: uniqueEmail(), password: strongPassword(), name },
      });
      assertEnvelope(user, 400, 'validation_failed');
      assert.equal(user.body.fields[0].path, 'name');
    }
    const plain = await admin.request('/v1/organizations', {
      method: 'POST',
      json: { name: '  Café Zoë — été 2026  ' },
    });
    assert.equal(plain.status, 201, plain.text);
    assert.equal(plain.body.name, 'Café Zoë — été 2026');
  });

  it('a JWT without exp is refused even when correctly signed', async () => {
    const key = ctx.hub.config.secrets.jwtKeys[0]!;
    // The admin's own access token, re-signed with the hub's key: only `exp` differs.
    const claims = decodeJwt(admin.accessToken);
    const sign = (withExp: boolean) => {
      const { exp: _exp, ...rest } = claims;
      const jwt = new SignJWT(rest).setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' });
      if (withExp) jwt.setExpirationTime('5m');
      return jwt.sign(key.secret);
    };
    const forever = await admin.withToken({ bearer: await sign(false) }).request('/v1/users/me');
    assertEnvelope(forever, 401, forever.body.code);
    assert.equal(forever.status, 401);
    const bounded = await admin.withToken({ bearer: await sign(true) }).request('/v1/users/me');
    assert.equal(bounded.status, 200, `the same token with exp is accepted (control): ${bounded.text}`);
  });
});

describe('writes while Redis is down', () => {
  let redis: OwnRedis;
  let ctx: IdentityContext;
  let admin: Client;
  let node: TestNode;
  let instanceId: string;

  before(async () => {
    redis = await OwnRedis.start();
    ctx = await IdentityContext.start({ env: { ...FAST_JOBS_ENV, HOSTPLANE_REDIS_URL: redis.url } });
    admin = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await onlineNode(admin, ctx.hub.url);
    instanceId = (await newInstance(admin, await newWorkload(admin), 'redis-down', true)).id;
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
    await redis?.kill();
  });

  it('with Redis down, job writes are accepted from PostgreSQL at once and run when it is back; writes that need Redis answer 503 within ~2 s', async () => {
    await redis.kill();
    const accepted: { id: string; ms: number }[] = [];
    for (const [path, json] of [
      [`/v1/instances/${instanceId}/stop`, undefined],
      [`/v1/nodes/${node.id}/selftest`, { marker: 'down' }],
    ] as [string, unknown][]) {
      const started = Date.now();
      const res = await admin.request(path, { method: 'POST', json });
      const ms = Date.now() - started;
      assert.equal(res.status, 202, res.text);
      assert.ok(ms < 4000, `answered after ${ms} ms`);
      accepted.push({ id: res.body.id, ms });
    }
    // Cancelling a queued job must know whether a worker took it: that needs Redis.
    const started = Date.now();
    const cancel = await admin.request(`/v1/operations/${accepted[1]!.id}/cancel`, { method: 'POST' });
    const cancelMs = Date.now() - started;
    assertEnvelope(cancel, 503, 'dependency_unavailable');
    assert.match(cancel.body.error, /Redis is unavailable/);
    assert.equal(cancel.headers.get('retry-after'), '2');
    assert.ok(cancelMs < 4000, `answered after ${cancelMs} ms`);
    console.log(
      `# with Redis down: stop and selftest accepted after ${accepted.map((a) => a.ms).join(' and ')} ms, cancel answered 503 after ${cancelMs} ms`,
    );

    await redis.start();
    for (const a of accepted) {
      const deadline = Date.now() + 40_000;
      let op: TestResponse;
      do {
        await new Promise((r) => setTimeout(r, 250));
        op = await admin.request(`/v1/operations/${a.id}`);
      } while (!['succeeded', 'failed', 'cancelled', 'expired'].includes(op.body.status) && Date.now() < deadline);
      assert.equal(op.body.status, 'succeeded', `${op.body.kind} ran once Redis was back: ${op.text}`);
    }
  });
});
