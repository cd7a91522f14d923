import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { credentialHeaders, openSocket, within } from './support/live-sockets';
import { RfbClient, startVncServer, wsTransport } from './support/rfb';
import { SimIllumosHost } from './support/sim-zones';

const VNC_SIZE = { width: 640, height: 480 };

/** Resolves with the HTTP status and JSON body of a refused upgrade. */
function refused(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      reject(new Error(`${url}: the upgrade was accepted`));
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    ws.once('error', () => undefined);
  });
}

async function openVnc(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, ['binary'], { headers });
  const rfb = new RfbClient(wsTransport(ws));
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('unexpected-response', (_q, res) => fail(new Error(`VNC upgrade refused with ${res.statusCode}`)));
    ws.once('error', fail);
  });
  return { ws, rfb };
}

describe('zone consoles, shells and VNC: hub WebSocket → tunnel → agent → zlogin / zadm vnc (simulated illumos)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let vnc: Awaited<ReturnType<typeof startVncServer>>;
  const host = new SimIllumosHost();
  const wsPath = (zone: string, what: string) => `/v1/nodes/${node.id}/zones/${zone}/${what}`;
  const wsUrl = (path: string) => ctx.hub.url.replace('http', 'ws') + path;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, host.agentEnv);
    node.start();
    await node.waitStatus('online');
    // Zones made on the host by hand: no instance, no workload.
    await host.bootZone('web', 'ipkg');
    await host.bootZone('vm1', 'bhyve', { vnc: 'on' });
    // bhyve is not simulated: a real VNC server takes the place of the guest's framebuffer.
    vnc = await startVncServer(host.vncSocket('vm1'), VNC_SIZE);
  });
  after(async () => {
    await vnc?.stop();
    for (const zone of ['web', 'vm1', 'vm2']) await host.haltZone(zone).catch(() => undefined);
    await node?.stop();
    await ctx?.close();
  });

  it('console round trip through zlogin -C, with the terminal frame protocol', async () => {
    const con = await openSocket(
      ctx.hub,
      `${wsPath('web', 'console')}?cols=100&rows=30`,
      credentialHeaders(owner),
      /Connected to zone 'web' console/,
    );
    con.ws.send('operator\r');
    await waitFor('echo and a new prompt', async () =>
      /operator[\s\S]*web console login: /.test(con.received()) ? true : undefined,
    );
    con.ws.send(JSON.stringify({ type: 'input', data: 'again\r' }));
    await waitFor('input frame', async () => (/again/.test(con.received()) ? true : undefined));
    con.ws.close();
    await con.closed;
    assert.ok(
      host.calls().some((c) => /zlogin -C web$/.test(c)),
      'zlogin -C ran for the zone',
    );
  });

  it("shell in a zone through zlogin: commands run in the zone root, resize reaches the pty, the shell's exit status closes the socket", async () => {
    const sh = await openSocket(ctx.hub, wsPath('web', 'shell'), credentialHeaders(owner));
    sh.ws.send(JSON.stringify({ type: 'resize', cols: 101, rows: 31 }));
    sh.ws.send('stty size; pwd; echo shell-$((6*7))\n');
    await waitFor('shell output', async () => (/shell-42/.test(sh.received()) ? true : undefined), 10_000);
    assert.match(sh.received(), /31 101/, 'the resize reached the pty');
    assert.ok(sh.received().includes(`${host.zonepath('web')}/root`), 'the shell runs in the zone root');
    sh.ws.send('exit 3\n');
    const closed = await within(sh.closed, 10_000);
    assert.equal(closed?.code, 1000);
    assert.equal(closed?.reason, 'exit 3', "the shell's status reaches the client, as on the node terminal");
  });

  it('VNC: noVNC-style client (binary subprotocol, ?access_token) does the RFB 3.8 handshake and gets a framebuffer update', async () => {
    const { ws, rfb } = await openVnc(
      wsUrl(`${wsPath('vm1', 'vnc/websockify')}?access_token=${owner.accessToken}&org_id=${owner.defaultOrg}`),
    );
    assert.equal(ws.protocol, 'binary', 'the binary subprotocol was accepted');
    const { version, securityTypes, init } = await rfb.handshake();
    assert.equal(version, 'RFB 003.008\n');
    assert.ok(securityTypes.includes(1), 'security type None is offered');
    assert.equal(init.width, VNC_SIZE.width);
    assert.equal(init.height, VNC_SIZE.height);
    rfb.requestUpdate(init);
    const update = await rfb.readUpdate(init);
    assert.ok(update.rects >= 1);
    assert.equal(update.pixelBytes, VNC_SIZE.width * VNC_SIZE.height * (init.bitsPerPixel / 8), 'the whole screen');
    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await closed;
    assert.ok(
      host.calls().some((c) => /^zadm vnc 127\.0\.0\.1:\d+ vm1$/.test(c)),
      'zadm vnc ran on a loopback port',
    );
    await waitFor(
      'zadm ended with the stream',
      async () => {
        const r = await fetch(`${ctx.hub.url}/v1/tunnel/stats`, { headers: credentialHeaders(owner) });
        return ((await r.json()) as { open_streams: number }).open_streams === 0 ? true : undefined;
      },
      5000,
    );
  });

  it('VNC of a zone that is not bhyve, or whose VNC server does not answer, is 409 vnc_unavailable; a zone that does not exist 404', async () => {
    const notBhyve = await refused(wsUrl(wsPath('web', 'vnc')), credentialHeaders(owner));
    assert.equal(notBhyve.status, 409);
    assert.equal(notBhyve.body.code, 'vnc_unavailable');
    // A bhyve zone whose framebuffer nobody serves (vnc off, or bhyve gone): refused, not a hanging viewer.
    await host.bootZone('vm2', 'bhyve');
    const noServer = await refused(wsUrl(wsPath('vm2', 'vnc')), credentialHeaders(owner));
    assert.equal(noServer.status, 409);
    assert.equal(noServer.body.code, 'vnc_unavailable');
    assert.match(noServer.body.error, /VNC server of zone vm2/);
    await host.haltZone('vm2');
    const missing = await refused(wsUrl(wsPath('nosuch', 'console')), credentialHeaders(owner));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'zone_not_found');
  });

  it('a bad zone name is 400 naming the field, and no tool runs', async () => {
    const before = host.calls().length;
    for (const bad of ['x;id', '$(id)', '`id`', 'a b', '..%2Fx', 'a%0Ab', '-x', 'global']) {
      for (const what of ['console', 'shell', 'vnc']) {
        const r = await refused(wsUrl(`/v1/nodes/${node.id}/zones/${bad}/${what}`), credentialHeaders(owner));
        assert.equal(r.status, 400, `${bad} ${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, 'invalid_argument');
        assert.equal(r.body.field, 'zone');
      }
    }
    // The agent's availability probe may run on its own schedule; nothing else may.
    const after = host
      .calls()
      .slice(before)
      .filter((c) => c !== 'zoneadm list -c -p');
    assert.deepEqual(after, []);
  });

  it("another organization's node is 404; a member without zones.console is 403", async () => {
    const other = await ctx.newOrg();
    const outsider = other.owner.inOrg(other.id);
    assert.equal((await refused(wsUrl(wsPath('web', 'console')), credentialHeaders(outsider))).status, 404);
    assert.equal((await refused(wsUrl(wsPath('vm1', 'vnc')), credentialHeaders(outsider))).status, 404);
    const member = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'member');
    const denied = await refused(wsUrl(wsPath('web', 'shell')), credentialHeaders(member));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'permission_denied');
  });

  it('a revoked API token closes its VNC socket (4401); removal from the organization closes a zone shell (4403)', async () => {
    const admin = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'admin');
    const token = await ctx.newApiToken(admin);
    const viaToken = admin.withToken({ apiKey: token.token }).inOrg(ctx.admin.personalOrgId);
    const { ws, rfb } = await openVnc(wsUrl(wsPath('vm1', 'vnc')), credentialHeaders(viaToken));
    await rfb.handshake();
    const vncClosed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    assert.equal((await admin.request(`/v1/api-tokens/${token.id}`, { method: 'DELETE' })).status, 204);
    assert.equal(await within(vncClosed, 10_000), 4401, 'the VNC socket closed with token_revoked');

    const sh = await openSocket(ctx.hub, wsPath('web', 'shell'), credentialHeaders(admin));
    const removed = await owner.request(`/v1/organizations/${ctx.admin.personalOrgId}/members/${admin.user.id}`, {
      method: 'DELETE',
    });
    assert.ok(removed.status < 300, removed.text);
    const closed = await within(sh.closed, 10_000);
    assert.equal(closed?.code, 4403);
    assert.match(closed!.reason, /^org_access_revoked: /);
  });
});
