import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client as PgClient } from 'pg';
import { DiscoveryService } from '@nestjs/core';
import { TusController } from '../src/files/tus.controller';
import { checkIdempotencyDeclarations } from '../src/idempotency/idempotency-declarations';
import { IdempotencyModule } from '../src/idempotency/idempotency.module';
import { API_DOC, ApiDocOptions } from '../src/openapi/api-doc';
import { IdempotencyProbeModule, probe } from './fixtures/idempotency-probe.module';
import { FAST_JOBS_ENV, registerNode, TestNode, waitForOperation } from './support/agents';
import { Client, eventually, IdentityContext } from './support/identity';
import type { TestResponse } from './support/test-hub';

function selftestLines(file: string, opId: string): number {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(opId)).length;
  } catch {
    return 0;
  }
}

/** What a client compares between a first answer and its replay. */
function answer(res: TestResponse) {
  return {
    status: res.status,
    body: res.body,
    location: res.headers.get('location'),
    contentType: res.headers.get('content-type'),
  };
}

describe('Idempotency-Key', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let db: PgClient;

  const post = (client: Client, path: string, key: string | undefined, json: unknown) =>
    client.request(path, { method: 'POST', json, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const selftests = async (marker: string) =>
    (
      (await db.query(`SELECT id FROM operations WHERE kind = 'agent.selftest' AND payload->>'marker' = $1`, [marker]))
        .rows as { id: string }[]
    ).map((r) => r.id);

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV, extraModules: [IdempotencyProbeModule] });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    db = new PgClient({ connectionString: ctx.hub.database.url });
    await db.connect();
    node = await registerNode(owner, ctx.hub.url);
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    await node?.stop();
    await db?.end();
    await ctx?.close();
  });

  it('a POST retried with its key answers the first response and queues no second job', async () => {
    const key = randomUUID();
    const marker = `seq-${key}`;
    const first = await post(owner, `/v1/nodes/${node.id}/selftest`, key, { marker });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await post(owner, `/v1/nodes/${node.id}/selftest`, key, { marker });
    assert.deepEqual(answer(second), answer(first));
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.notEqual(
      second.headers.get('x-request-id'),
      first.headers.get('x-request-id'),
      "the request id is the retry's own",
    );

    const done = await waitForOperation(owner, first.body.id, 20_000);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(await selftests(marker), [first.body.id], 'one operation');
    assert.equal(selftestLines(node.selftestLog, first.body.id), 1, 'the agent ran the job once');
  });

  it('ten concurrent requests with one key create one operation and all get the same answer', async () => {
    const key = randomUUID();
    const marker = `burst-${key}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post(owner, `/v1/nodes/${node.id}/selftest`, key, { marker })),
    );
    for (const a of answers) assert.deepEqual(answer(a), answer(answers[0]!), a.text);
    assert.equal(answers[0]!.status, 202);
    assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === null).length, 1, 'exactly one ran');

    const done = await waitForOperation(owner, answers[0]!.body.id, 20_000);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(await selftests(marker), [answers[0]!.body.id]);
    assert.equal(selftestLines(node.selftestLog, done.id), 1);
    // Without a key the same body is new work each time.
    const again = await post(owner, `/v1/nodes/${node.id}/selftest`, undefined, { marker });
    assert.equal(again.status, 202);
    assert.equal((await selftests(marker)).length, 2);
  });

  it('the same key with a different body, URL or organization is refused with 422', async () => {
    const key = randomUUID();
    const first = await post(owner, '/test/idem/things', key, { name: `a-${key.slice(0, 8)}` });
    assert.equal(first.status, 201, first.text);
    const otherBody = await post(owner, '/test/idem/things', key, { name: `b-${key.slice(0, 8)}` });
    assert.equal(otherBody.status, 422, otherBody.text);
    assert.equal(otherBody.body.code, 'idempotency_key_reused');
    const otherRoute = await post(owner, `/v1/nodes/${node.id}/selftest`, key, { marker: 'other-route' });
    assert.equal(otherRoute.status, 422);
    assert.equal((await selftests('other-route')).length, 0, 'the refused request did nothing');
    // The organization a request acts in is part of the request.
    const orgKey = randomUUID();
    const opId = randomUUID();
    const here = await post(owner, `/v1/operations/${opId}/cancel`, orgKey, undefined);
    assert.equal(here.status, 404, here.text);
    const otherOrg = await ctx.newOrg({ owner: ctx.admin });
    const there = await post(owner.inOrg(otherOrg.id), `/v1/operations/${opId}/cancel`, orgKey, undefined);
    assert.equal(there.status, 422, there.text);
    assert.equal(probe.ran(`b-${key.slice(0, 8)}`), 0);
    // The original request still gets its answer.
    const replay = await post(owner, '/test/idem/things', key, { name: `a-${key.slice(0, 8)}` });
    assert.deepEqual(answer(replay), answer(first));
  });

  it('a retry while the first request still runs gets 409, and its answer once it has finished', async () => {
    const key = randomUUID();
    const body = { name: `slow-${key.slice(0, 8)}`, hold: key };
    const firstP = post(owner, '/test/idem/things', key, body);
    await probe.entered(key);
    const started = Date.now();
    // Released in any case: a hanging first request would otherwise hold the test to its timeout.
    const retry = await post(owner, '/test/idem/things', key, body).finally(() =>
      setTimeout(() => probe.release(key), 100),
    );
    const waited = Date.now() - started;
    assert.equal(retry.status, 409, retry.text);
    assert.equal(retry.body.code, 'idempotency_key_in_flight');
    assert.equal(retry.headers.get('retry-after'), '1');
    assert.ok(waited >= 4500, `the retry waited for the first request before giving up (${waited} ms)`);

    const first = await firstP;
    assert.equal(first.status, 201, first.text);
    const later = await post(owner, '/test/idem/things', key, body);
    assert.deepEqual(answer(later), answer(first));
    assert.equal(later.headers.get('x-thing-version'), '1', 'headers the route set are replayed too');
    assert.equal(probe.ran(body.name), 1);
  });

  it('a retry that arrives while the first request runs briefly waits and gets its answer', async () => {
    const key = randomUUID();
    const body = { name: `brief-${key.slice(0, 8)}`, hold: key };
    const firstP = post(owner, '/test/idem/things', key, body);
    await probe.entered(key);
    const retryP = post(owner, '/test/idem/things', key, body);
    await new Promise((r) => setTimeout(r, 300));
    probe.release(key);
    const [first, retry] = await Promise.all([firstP, retryP]);
    assert.equal(first.status, 201);
    assert.deepEqual(answer(retry), answer(first));
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(probe.ran(body.name), 1);
  });

  it('a claim whose replica stopped renewing it is taken over by a retry, and the stale request cannot overwrite it', async () => {
    const key = randomUUID();
    const body = { name: `lease-${key.slice(0, 8)}`, hold: key };
    const stuckP = post(owner, '/test/idem/things', key, body);
    await probe.entered(key);
    // As if the replica running it had died: its lease (renewed while it lives) has run out.
    await db.query(`UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = $1`, [key]);
    const takenP = post(owner, '/test/idem/things', key, body);
    await eventually(async () => probe.ran(body.name) === 2, 'the retry runs the route', 5000).finally(() =>
      probe.release(key),
    );
    const taken = await takenP;
    assert.equal(taken.status, 201, taken.text);
    const stuck = await stuckP;
    assert.equal(stuck.status, 201);
    assert.notEqual(stuck.body.id, taken.body.id);
    assert.equal(probe.ran(body.name), 2);
    const later = await post(owner, '/test/idem/things', key, body);
    assert.deepEqual(answer(later), answer(taken), 'the claim that took over holds the answer');
  });

  it('keys belong to their caller: another user or an API token with the same key runs anew', async () => {
    const key = randomUUID();
    const body = { name: `scoped-${key.slice(0, 8)}` };
    const mine = await post(owner, '/test/idem/things', key, body);
    const other = await ctx.newUser();
    const theirs = await post(other, '/test/idem/things', key, body);
    const token = await ctx.newApiToken(ctx.admin, { org: ctx.admin.personalOrgId });
    const viaToken = await post(owner.withToken({ apiKey: token.token }), '/test/idem/things', key, body);
    for (const res of [mine, theirs, viaToken]) {
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.get('idempotent-replayed'), null);
    }
    assert.equal(new Set([mine.body.id, theirs.body.id, viaToken.body.id]).size, 3);
    assert.equal(probe.ran(body.name), 3);
    // A second session of the same user shares the user's keys.
    const relogged = await ctx.login(ctx.admin.user.email, ctx.admin.user.password);
    const sameUser = await post(relogged.inOrg(ctx.admin.personalOrgId), '/test/idem/things', key, body);
    assert.deepEqual(answer(sameUser), answer(mine));
  });

  it('after 24 h a key is free again, and expired keys are pruned', async () => {
    const key = randomUUID();
    const first = await post(owner, '/test/idem/things', key, { name: `old-${key.slice(0, 8)}` });
    assert.equal(first.status, 201);
    // Time travel: the row is what says when the key was used.
    await db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    const reused = await post(owner, '/test/idem/things', key, { name: `new-${key.slice(0, 8)}` });
    assert.equal(reused.status, 201, reused.text);
    assert.equal(reused.headers.get('idempotent-replayed'), null);
    assert.equal(reused.body.name, `new-${key.slice(0, 8)}`);

    await db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    const live = (await db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE expires_at > now()`)).rows[0]
      .n as number;
    const removed = await ctx.hub.app.get(IdempotencyModule).pruneExpired();
    assert.ok(removed >= 1, `pruned ${removed}`);
    assert.equal(
      (await db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1`, [key])).rows[0].n,
      0,
    );
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM idempotency_keys`)).rows[0].n, live, 'live keys stay');
  });

  it('a response with a secret shown once is kept encrypted, never in clear, and never logged', async () => {
    const key = randomUUID();
    const create = { name: `idem-${key.slice(0, 8)}`, expires_in: 3600 };
    const first = await owner.request('/v1/api-tokens', {
      method: 'POST',
      json: create,
      headers: { 'idempotency-key': key },
    });
    assert.equal(first.status, 201, first.text);
    const secret = first.body.token as string;
    assert.match(secret, /^hp_pat_/);
    const replay = await owner.request('/v1/api-tokens', {
      method: 'POST',
      json: create,
      headers: { 'idempotency-key': key },
    });
    assert.deepEqual(answer(replay), answer(first), 'the caller who created it gets the same token back');
    const tokens = await owner.request('/v1/api-tokens?limit=500');
    assert.equal(
      (tokens.body.data as { name: string }[]).filter((t) => t.name === create.name).length,
      1,
      'one token created',
    );

    const { rows } = await db.query(`SELECT * FROM idempotency_keys WHERE key = $1`, [key]);
    assert.equal(rows.length, 1);
    const stored = JSON.stringify(rows[0]);
    assert.equal(rows[0].response_status, 201);
    assert.match(rows[0].response_sealed, /^v1\./);
    for (const needle of [
      secret,
      secret.slice(7),
      Buffer.from(secret).toString('base64'),
      Buffer.from(first.text).toString('base64').slice(0, 40),
      create.name,
    ]) {
      assert.ok(!stored.includes(needle), `the row does not hold ${needle.slice(0, 12)}… in clear`);
    }
    assert.ok(!ctx.hub.logs.text().includes(secret.slice(7)), 'the token is not in the log');

    // Sealed under another encryption key (a rotated hub key): a clear 409, never a 500.
    await db.query(`UPDATE idempotency_keys SET response_sealed = 'v1.' || md5(response_sealed) WHERE key = $1`, [key]);
    const unreadable = await owner.request('/v1/api-tokens', {
      method: 'POST',
      json: create,
      headers: { 'idempotency-key': key },
    });
    assert.equal(unreadable.status, 409, unreadable.text);
    assert.equal(unreadable.body.code, 'idempotency_answer_unreadable');
  });

  it('5xx answers and requests that failed validation are not kept: the retry runs', async () => {
    const key = randomUUID();
    const name = `crash-${key.slice(0, 8)}`;
    const crashed = await post(owner, '/test/idem/things', key, { name, fail: 'crash' });
    assert.equal(crashed.status, 500);
    const retried = await post(owner, '/test/idem/things', key, { name, fail: 'crash' });
    assert.equal(retried.status, 500);
    assert.equal(probe.ran(name), 2, 'the retry ran again');
    assert.equal(
      (await db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1`, [key])).rows[0].n,
      0,
    );

    const key2 = randomUUID();
    const invalid = await post(owner, '/test/idem/things', key2, { name: 'x'.repeat(41) });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'validation_failed');
    const fixed = await post(owner, '/test/idem/things', key2, { name: `fixed-${key2.slice(0, 8)}` });
    assert.equal(fixed.status, 201, 'the corrected request is not "a different body"');

    // A 4xx the route answered after it ran is kept like a success.
    const key3 = randomUUID();
    const gone = `gone-${key3.slice(0, 8)}`;
    const missing = await post(owner, '/test/idem/things', key3, { name: gone, fail: 'missing' });
    assert.equal(missing.status, 404);
    const again = await post(owner, '/test/idem/things', key3, { name: gone, fail: 'missing' });
    assert.deepEqual(answer(again), answer(missing));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(probe.ran(gone), 1);
  });

  it('a malformed key is a 400, and routes that cannot honour a key refuse it instead of ignoring it', async () => {
    for (const bad of ['', 'k'.repeat(256), 'clé']) {
      const res = await post(owner, '/test/idem/things', bad, { name: 'never' });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
      assert.equal(res.body.code, 'invalid_idempotency_key');
    }
    assert.equal(probe.ran('never'), 0);
    const longest = await post(owner, '/test/idem/things', '~'.repeat(255), { name: 'longest' });
    assert.equal(longest.status, 201, longest.text);

    const streamed = await owner.request(`/v1/instances/${randomUUID()}/files/content?path=a.txt`, {
      method: 'PUT',
      body: 'hello',
      headers: { 'content-type': 'text/plain', 'idempotency-key': randomUUID() },
    });
    assert.equal(streamed.status, 400, streamed.text);
    assert.equal(streamed.body.code, 'idempotency_key_unsupported');
    assert.match(streamed.body.error, /stream/);
    const login = await ctx.hub.request('/v1/auth/login', {
      method: 'POST',
      json: { email: ctx.admin.user.email, password: ctx.admin.user.password },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(login.status, 400);
    assert.equal(login.body.code, 'idempotency_key_unsupported');
    const read = await owner.request('/v1/nodes', { headers: { 'idempotency-key': randomUUID() } });
    assert.equal(read.status, 200, 'safe methods ignore the header');
  });

  it('the OpenAPI document names the header on the routes that honour it, and only there', async () => {
    const doc = (await ctx.hub.request('/openapi.json')).body;
    const ref = { $ref: '#/components/parameters/IdempotencyKey' };
    const has = (path: string, method: string) =>
      (doc.paths[path][method].parameters as unknown[]).some((p) => JSON.stringify(p) === JSON.stringify(ref));
    assert.equal(doc.components.parameters.IdempotencyKey.in, 'header');
    assert.equal(doc.components.parameters.IdempotencyKey.name, 'Idempotency-Key');
    for (const [path, method] of [
      ['/v1/nodes/{id}/selftest', 'post'],
      ['/v1/instances', 'post'],
      ['/v1/instances/{id}', 'delete'],
      ['/v1/api-tokens', 'post'],
      ['/v1/operations/{id}/cancel', 'post'],
    ]) {
      assert.ok(has(path!, method!), `${method} ${path} documents Idempotency-Key`);
    }
    for (const [path, method] of [
      ['/v1/nodes', 'get'],
      ['/v1/auth/login', 'post'],
      ['/v1/instances/{id}/files/content', 'put'],
      ['/v1/instances/{id}/files/tus/{upload_id}', 'patch'],
    ]) {
      assert.ok(!has(path!, method!), `${method} ${path} does not`);
    }
  });

  it('the hub refuses to boot with a route that would honour a key but sends its own reply', () => {
    const discovery = ctx.hub.app.get(DiscoveryService);
    checkIdempotencyDeclarations(discovery);
    const handler = TusController.prototype.patch;
    const doc = Reflect.getMetadata(API_DOC, handler) as ApiDocOptions;
    Reflect.defineMetadata(API_DOC, { ...doc, idempotencyRefused: undefined }, handler);
    try {
      assert.throws(
        () => checkIdempotencyDeclarations(discovery),
        /PATCH \/v1\/instances\/:id\/files\/tus\/:upload_id \(TusController\.patch\) sends its own reply/,
      );
    } finally {
      Reflect.defineMetadata(API_DOC, doc, handler);
    }
  });
});
