import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { EventsService } from '../src/events/events.service';
import { waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

interface Feed {
  ws: WebSocket;
  messages: any[];
  events(): any[];
}

async function subscribe(ctx: IdentityContext, client: Client, query = ''): Promise<Feed> {
  const ws = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/ws/subscribe${query}`, {
    headers: { authorization: `Bearer ${client.accessToken}` },
  });
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  await waitFor('welcome', async () => (messages[0]?.type === 'welcome' ? true : undefined), 5000);
  return { ws, messages, events: () => messages.filter((m) => m.type === 'event').map((m) => m.event) };
}

describe('realtime events WebSocket', () => {
  let ctx: IdentityContext;
  let events: EventsService;
  let alice: Client;
  let orgA: string;
  let orgB: string;

  before(async () => {
    ctx = await IdentityContext.start();
    events = ctx.hub.app.get(EventsService);
    const a = await ctx.newOrg();
    const b = await ctx.newOrg();
    alice = a.owner;
    orgA = a.id;
    orgB = b.id;
  });
  after(() => ctx.close());

  it("delivers only the caller's organizations' events matching ?events=, with increasing ids", async () => {
    const feed = await subscribe(ctx, alice, '?events=node.*,operation.completed');
    assert.ok(feed.messages[0].organizations.includes(orgA));
    assert.ok(!feed.messages[0].organizations.includes(orgB));
    await events.publishAndWait(orgA, 'node.online', { node_id: 'n1' });
    await events.publishAndWait(orgA, 'operation.progress', { operation_id: 'x' });
    await events.publishAndWait(orgB, 'node.online', { node_id: 'secret-of-b' });
    await events.publishAndWait(orgA, 'operation.completed', { operation_id: 'x' });
    await waitFor('two events', async () => (feed.events().length >= 2 ? true : undefined), 5000);
    await new Promise((r) => setTimeout(r, 200));
    const got = feed.events();
    assert.deepEqual(
      got.map((e) => e.type),
      ['node.online', 'operation.completed'],
    );
    assert.ok(got.every((e) => e.org_id === orgA));
    assert.ok(!JSON.stringify(feed.messages).includes('secret-of-b'));
    const [first, second] = got.map((e) => e.id.split('-').map(Number));
    assert.ok(first[0] < second[0] || (first[0] === second[0] && first[1] < second[1]), 'ids increase');
    feed.ws.close();
  });

  it('changes the filter by message and by POST /v1/ws/unsubscribe without reconnecting', async () => {
    const feed = await subscribe(ctx, alice);
    const clientId = feed.messages[0].client_id;
    const res = await alice.request('/v1/ws/unsubscribe', {
      method: 'POST',
      json: { client_id: clientId, events: ['operation.progress'] },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.events, { include: ['*'], exclude: ['operation.progress'] });
    await waitFor(
      'subscription update',
      async () => (feed.messages.some((m) => m.type === 'subscription') ? true : undefined),
      5000,
    );
    await events.publishAndWait(orgA, 'operation.progress', { n: 1 });
    await events.publishAndWait(orgA, 'node.offline', { n: 2 });
    await waitFor(
      'node.offline',
      async () => (feed.events().some((e) => e.type === 'node.offline') ? true : undefined),
      5000,
    );
    assert.ok(!feed.events().some((e) => e.type === 'operation.progress'));

    feed.ws.send(JSON.stringify({ action: 'unsubscribe', events: ['node.*'] }));
    feed.ws.send('not json');
    await waitFor(
      'error reply',
      async () => (feed.messages.some((m) => m.type === 'error' && m.code === 'invalid_message') ? true : undefined),
      5000,
    );
    await events.publishAndWait(orgA, 'node.online', { n: 3 });
    await events.publishAndWait(orgA, 'instance.started', { n: 4 });
    await waitFor(
      'instance event',
      async () => (feed.events().some((e) => e.type === 'instance.started') ? true : undefined),
      5000,
    );
    assert.ok(!feed.events().some((e) => e.type === 'node.online'));

    const stranger = (await ctx.newOrg()).owner;
    const notYours = await stranger.request('/v1/ws/unsubscribe', {
      method: 'POST',
      json: { client_id: clientId, events: ['x.y'] },
    });
    assert.equal(notYours.status, 404);
    feed.ws.close();
  });

  it('refuses unauthenticated and malformed subscriptions before the upgrade', async () => {
    const anon = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/ws/subscribe`);
    assert.equal(await new Promise((r) => anon.once('unexpected-response', (_q, res) => r(res.statusCode))), 401);
    const bad = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/ws/subscribe?events=DROP%20TABLE`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    assert.equal(await new Promise((r) => bad.once('unexpected-response', (_q, res) => r(res.statusCode))), 400);
    const nowhere = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/nowhere`);
    assert.equal(await new Promise((r) => nowhere.once('unexpected-response', (_q, res) => r(res.statusCode))), 404);
    const token = await ctx.newApiToken(alice, { org: orgA });
    const viaToken = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/ws/subscribe?access_token=${token.token}`);
    const welcome = await new Promise<any>((r, j) => {
      viaToken.once('message', (d) => r(JSON.parse(d.toString())));
      viaToken.once('error', j);
    });
    assert.deepEqual(welcome.organizations, [orgA]);
    viaToken.close();
  });
});
