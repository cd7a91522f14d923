import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { WebSocket } from 'ws';
import { FAST_JOBS_ENV, registerNode, type TestNode, waitFor } from './support/agents';
import { newInstance, newWorkload } from './support/backups';
import { Client, IdentityContext } from './support/identity';
import {
  credentialHeaders,
  openSocket,
  openStream,
  within,
  type Closed,
  type OpenSocket,
  type OpenStream,
} from './support/live-sockets';
import { SimAgent } from './support/sim-agent';
import { createTestDatabase, type TestDatabase, testRedisPrefix } from './support/test-env';
import { deleteRedisPrefix, startTestHub, type TestHub } from './support/test-hub';

const run = promisify(execFile);

/** The bound: the access-cache window (HOSTPLANE_AUTH_CACHE_SECONDS, 2 by default). */
const WINDOW_MS = 2000;

/**
 * Two hub replicas on one database and Redis. Every socket is opened on replica B (the agent is
 * connected there too); every access-ending action is taken through replica A.
 */
describe('access ends everywhere at once: sockets on another replica close within 2 s', () => {
  let db: TestDatabase;
  let prefix: string;
  let ctx: IdentityContext;
  let hubB: TestHub;
  let org: { id: string; owner: Client };
  let node: TestNode;
  const timings: Record<string, number[]> = {};

  const onB = (c: Client) => new Client(hubB, c.credential, c.user, c.personalOrgId, c.defaultOrg);

  before(async () => {
    db = await createTestDatabase();
    prefix = testRedisPrefix();
    // B caches access for 10 s, so only the pushed invalidation can close its sockets within 2 s
    // (a broken push fails these tests); it re-checks on its own every second behind that.
    const shared = { ...FAST_JOBS_ENV, HOSTPLANE_JWT_KEYS: `k1:${randomBytes(32).toString('base64')}` };
    ctx = await IdentityContext.start({ env: shared, hub: { database: db, redisPrefix: prefix } });
    hubB = await startTestHub({
      database: db,
      redisPrefix: prefix,
      env: { ...shared, ...ctx.mail.env(), HOSTPLANE_AUTH_CACHE_SECONDS: '10', HOSTPLANE_AUTH_RECHECK_SECONDS: '1' },
    });
    org = await ctx.newOrg();
    node = await registerNode(onB(org.owner), hubB.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    await node.waitStatus('online');
  });

  after(async () => {
    const figures = Object.entries(timings).map(([k, v]) => `${k}: ${v.join(', ')} ms`);
    if (figures.length) console.log(`action on replica A → close on replica B\n  ${figures.join('\n  ')}`);
    await node?.stop();
    await hubB?.close();
    await ctx?.close();
    await db?.drop();
    await deleteRedisPrefix(prefix);
  });

  const terminal = (c: Client) => openSocket(hubB, `/v1/nodes/${node.id}/terminal`, credentialHeaders(onB(c)));
  const eventsWs = (c: Client) => openSocket(hubB, '/v1/ws/subscribe', credentialHeaders(onB(c)), /"type":"welcome"/);
  const sse = (c: Client) => openStream(hubB, '/v1/events/stream', credentialHeaders(onB(c)));

  async function closedInTime(what: string, s: OpenSocket, t0: number): Promise<Closed> {
    const closed = await within(s.closed, WINDOW_MS + 1000);
    assert.ok(closed, `${what} still open ${WINDOW_MS + 1000} ms after the action`);
    const ms = closed.at - t0;
    (timings[what] ??= []).push(ms);
    assert.ok(ms <= WINDOW_MS, `${what} closed after ${ms} ms, more than ${WINDOW_MS}`);
    return closed;
  }

  async function endedInTime(what: string, s: OpenStream, t0: number, cut = false): Promise<string> {
    const ended = await within(s.ended, WINDOW_MS + 1000);
    assert.ok(ended, `${what} still streaming ${WINDOW_MS + 1000} ms after the action`);
    const ms = ended.at - t0;
    (timings[what] ??= []).push(ms);
    assert.ok(ms <= WINDOW_MS, `${what} ended after ${ms} ms, more than ${WINDOW_MS}`);
    assert.equal(
      ended.cut,
      cut,
      cut ? `${what} is cut off, not ended as if complete` : `${what} ends cleanly with its last event`,
    );
    return ended.text;
  }

  function assertSseRevoked(text: string, code: string): void {
    const last = /event: access_revoked\ndata: (\{.*\})\n\n$/.exec(text);
    assert.ok(last, `the stream ends with an access_revoked event: ${text.slice(-300)}`);
    assert.equal((JSON.parse(last[1]!) as { code: string }).code, code);
  }

  /** Opens a terminal, an events WebSocket and an SSE stream on B, runs `action` on A, expects all three closed. */
  async function expectAllClosed(
    subject: Client,
    action: () => Promise<void>,
    expected: { code: number; reason: RegExp; sseCode: string },
    label: string,
  ): Promise<void> {
    const [term, events, stream] = [await terminal(subject), await eventsWs(subject), await sse(subject)];
    const t0 = Date.now();
    await action();
    for (const [what, s] of [
      [`${label} terminal`, term],
      [`${label} events ws`, events],
    ] as const) {
      const closed = await closedInTime(what, s, t0);
      assert.equal(closed.code, expected.code, `${what}: ${closed.reason}`);
      assert.match(closed.reason, expected.reason, what);
    }
    assertSseRevoked(await endedInTime(`${label} sse`, stream, t0), expected.sseCode);
  }

  it('suspension: 4401 user_suspended on every socket and stream of the user', async () => {
    const admin = await ctx.addMember(org, 'admin');
    await expectAllClosed(
      admin,
      async () =>
        assert.equal(
          (await ctx.admin.request(`/v1/admin/users/${admin.user.id}/suspend`, { method: 'POST' })).status,
          200,
        ),
      { code: 4401, reason: /^user_suspended: /, sseCode: 'user_suspended' },
      'suspend',
    );
    const again = await fetch(`${hubB.url}/v1/ws/subscribe`, { headers: credentialHeaders(onB(admin)) });
    assert.equal(again.status, 401, 'and cannot reconnect');
    const metrics = await (await fetch(`${hubB.url}/metrics`)).text();
    assert.match(
      metrics,
      /hostplane_connections_closed_access_ended_total\{kind="websocket",code="user_suspended"\} 2\n/,
      'replica B counts what it closed',
    );
    assert.match(metrics, /hostplane_connections_closed_access_ended_total\{kind="sse",code="user_suspended"\} 1\n/);
  });

  it("suspension closes a member's instance console on B (4401) that was typing into the instance", async () => {
    await waitFor('inventory', async () =>
      (await org.owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const instance = await newInstance(org.owner, await newWorkload(org.owner), 'console-1', true);
    const member = await ctx.addMember(org, 'member');
    const consoleWs = await openSocket(hubB, `/v1/instances/${instance.id}/console`, credentialHeaders(onB(member)));
    consoleWs.ws.send('hello\n');
    await waitFor('echo', async () => (consoleWs.received().includes('got: hello') ? true : undefined), 10_000);
    const t0 = Date.now();
    assert.equal(
      (await ctx.admin.request(`/v1/admin/users/${member.user.id}/suspend`, { method: 'POST' })).status,
      200,
    );
    const closed = await closedInTime('suspend console', consoleWs, t0);
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /^user_suspended: /);
    const again = new WebSocket(`${hubB.url.replace('http', 'ws')}/v1/instances/${instance.id}/console`, {
      headers: credentialHeaders(onB(member)),
    });
    assert.equal(
      await new Promise((r) => again.once('unexpected-response', (_q, res) => r(res.statusCode))),
      401,
      'and cannot reconnect',
    );
  });

  it('removal from the organization: 4403 org_access_revoked; the root terminal stops taking keystrokes', async () => {
    const admin = await ctx.addMember(org, 'admin');
    const term = await terminal(admin);
    term.ws.send('echo before-$((6*7))\n');
    await within(
      (async () => {
        while (!term.received().includes('before-42')) await new Promise((r) => setTimeout(r, 20));
      })(),
      5000,
    );
    assert.match(term.received(), /before-42/, 'the terminal works before');
    term.ws.close();
    assert.ok(admin.personalOrgId, 'the user has a personal organization');
    const personalOnly = await openSocket(
      hubB,
      `/v1/ws/subscribe?org_id=${admin.personalOrgId}`,
      credentialHeaders(onB(admin)),
      /"type":"welcome"/,
    );
    await expectAllClosed(
      admin,
      async () =>
        assert.equal(
          (await org.owner.request(`/v1/organizations/${org.id}/members/${admin.user.id}`, { method: 'DELETE' }))
            .status,
          204,
        ),
      { code: 4403, reason: /^org_access_revoked: /, sseCode: 'org_access_revoked' },
      'remove',
    );
    assert.equal(
      personalOnly.ws.readyState,
      personalOnly.ws.OPEN,
      'a socket following only another organization stays open',
    );
    personalOnly.ws.close();
  });

  it('a followed container log on B is cut off when the admin following it is removed', async () => {
    const name = `hp-access-${randomBytes(4).toString('hex')}`;
    await run('docker', [
      'run',
      '-d',
      '--rm',
      '--network',
      'none',
      '--name',
      name,
      'hostplane/busybox:test',
      'sh',
      '-c',
      'while true; do echo tick; sleep 0.2; done',
    ]);
    try {
      const admin = await ctx.addMember(org, 'admin');
      const logs = await openStream(
        hubB,
        `/v1/nodes/${node.id}/containers/${name}/logs?follow=true&lines=1`,
        credentialHeaders(onB(admin)),
      );
      await waitFor('ticks', async () => (logs.text().includes('tick') ? true : undefined), 10_000);
      const t0 = Date.now();
      assert.equal(
        (await org.owner.request(`/v1/organizations/${org.id}/members/${admin.user.id}`, { method: 'DELETE' })).status,
        204,
      );
      await endedInTime('remove followed container log', logs, t0, true);
    } finally {
      await run('docker', ['rm', '-f', name]).catch(() => undefined);
    }
  });

  it('role change: losing nodes.terminal closes the terminal (4403), the events socket the role still allows stays open', async () => {
    const admin = await ctx.addMember(org, 'admin');
    const [term, events, stream] = [await terminal(admin), await eventsWs(admin), await sse(admin)];
    const t0 = Date.now();
    const demoted = await org.owner.request(`/v1/organizations/${org.id}/members/${admin.user.id}/role`, {
      method: 'PUT',
      json: { role: 'member' },
    });
    assert.equal(demoted.status, 200, demoted.text);
    const closed = await closedInTime('role terminal', term, t0);
    assert.equal(closed.code, 4403);
    assert.match(closed.reason, /^permission_denied: .*nodes\.terminal/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(events.ws.readyState, events.ws.OPEN, 'a member still follows events');
    assert.equal(await within(stream.ended, 10), undefined, 'a member still streams events');
    const metrics = await (await fetch(`${hubB.url}/metrics`)).text();
    assert.match(metrics, /hostplane_live_connections\{kind="sse"\} [1-9]/, 'replica B counts its open streams');
    assert.match(metrics, /hostplane_live_connections\{kind="websocket"\} [1-9]/);
    events.ws.close();
    stream.abort();
  });

  it('permission change: revoking a granted nodes.terminal closes that terminal (4403)', async () => {
    const member = await ctx.addMember(org, 'member');
    const grant = await org.owner.request(`/v1/organizations/${org.id}/members/${member.user.id}/permissions`, {
      method: 'POST',
      json: { key: 'nodes.terminal' },
    });
    assert.ok(grant.status < 300, grant.text);
    const term = await terminal(member);
    const t0 = Date.now();
    const revoke = await org.owner.request(
      `/v1/organizations/${org.id}/members/${member.user.id}/permissions/nodes.terminal`,
      { method: 'DELETE' },
    );
    assert.ok(revoke.status < 300, revoke.text);
    const closed = await closedInTime('permission terminal', term, t0);
    assert.equal(closed.code, 4403);
    assert.match(closed.reason, /^permission_denied: .*nodes\.terminal/);
  });

  it('API token revocation: 4401 token_revoked on what the token opened', async () => {
    const admin = await ctx.addMember(org, 'admin');
    const token = await ctx.newApiToken(admin);
    const viaToken = admin.withToken({ apiKey: token.token }).inOrg(org.id);
    await expectAllClosed(
      viaToken,
      async () => assert.equal((await admin.request(`/v1/api-tokens/${token.id}`, { method: 'DELETE' })).status, 204),
      { code: 4401, reason: /^token_revoked: /, sseCode: 'token_revoked' },
      'token',
    );
  });

  it("logout and session revocation: 4401 session_revoked on that session's sockets only", async () => {
    const admin = await ctx.addMember(org, 'admin');
    const second = (await ctx.login(admin.user.email, admin.user.password)).inOrg(org.id);
    const otherSession = await eventsWs(second);
    await expectAllClosed(
      admin,
      async () => assert.equal((await admin.request('/v1/auth/logout', { method: 'POST' })).status, 204),
      { code: 4401, reason: /^session_revoked: /, sseCode: 'session_revoked' },
      'logout',
    );
    assert.equal(otherSession.ws.readyState, otherSession.ws.OPEN, 'the other session keeps its socket');
    const t0 = Date.now();
    assert.equal(
      (await ctx.hub.request('/v1/auth/revoke', { method: 'POST', json: { refresh_token: second.refreshToken } }))
        .status,
      204,
    );
    const closed = await closedInTime('revoke events ws', otherSession, t0);
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /^session_revoked: /);
  });

  it('a change no replica was told about (written straight to the database) is caught by the periodic re-check', async () => {
    const admin = await ctx.addMember(org, 'admin');
    const events = await eventsWs(admin);
    const t0 = Date.now();
    await ctx.hub.app.get(DataSource).query(`UPDATE users SET status = 'suspended' WHERE id = $1`, [admin.user.id]);
    // Bound: B's cache lifetime (10 s) plus its re-check period (1 s).
    const closed = await within(events.closed, 12_000);
    assert.ok(closed, 'closed by the periodic re-check');
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /^user_suspended: /);
    (timings['unannounced suspension (periodic re-check)'] ??= []).push(closed.at - t0);
  });

  it('agent token rotation: the agent socket on B is refused (token_revoked) and what it relayed closes', async () => {
    const reg = await org.owner.request('/v1/nodes/register-token', { method: 'POST', json: {} });
    const registered = await hubB.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: 'sim-rotate' },
    });
    assert.equal(registered.status, 201, registered.text);
    const sim = new SimAgent({ hubUrl: hubB.url, token: registered.body.agent_token });
    await sim.connect();
    const disconnected = new Promise<number>((r) => sim.socket.once('disconnect', () => r(Date.now())));
    const term = await terminal(org.owner);
    try {
      const t0 = Date.now();
      assert.equal(
        (await org.owner.request(`/v1/nodes/${registered.body.node_id}/rotate-token`, { method: 'POST' })).status,
        200,
      );
      const at = await within(disconnected, WINDOW_MS + 1000);
      assert.ok(at, 'the agent was disconnected');
      (timings['rotate agent socket'] ??= []).push(at - t0);
      assert.ok(at - t0 <= WINDOW_MS, `disconnected after ${at - t0} ms`);
      assert.deepEqual(
        sim.refusals.map((r) => r.code),
        ['token_revoked'],
      );

      const t1 = Date.now();
      assert.equal((await org.owner.request(`/v1/nodes/${node.id}/rotate-token`, { method: 'POST' })).status, 200);
      const closed = await closedInTime('rotate relayed terminal', term, t1);
      assert.match(closed.reason, /agent disconnected \(token_revoked\)/);
    } finally {
      sim.close();
    }
  });
});
