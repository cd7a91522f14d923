import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { registerNode, TestNode, waitFor } from './support/agents';
import { RfbClient, startVncServer, wsTransport } from './support/rfb';
import { Replicas } from './support/replicas';
import { SimIllumosHost } from './support/sim-zones';

describe('zone VNC and console through a replica that does not hold the agent (hub-to-hub relay)', () => {
  let r: Replicas;
  let node: TestNode;
  let vnc: Awaited<ReturnType<typeof startVncServer>>;
  const host = new SimIllumosHost();

  before(async () => {
    r = await Replicas.start(2);
    node = await registerNode(r.via(1), r.hubs[1]!.url, host.agentEnv);
    node.start();
    await node.waitStatus('online');
    assert.equal((await r.via(0).request('/v1/tunnel/stats')).body.connected_agents, 0, 'the agent is not on A');
    await host.bootZone('vm1', 'bhyve', { vnc: 'on' });
    await host.bootZone('web', 'ipkg');
    vnc = await startVncServer(host.vncSocket('vm1'), { width: 320, height: 240 });
  });
  after(async () => {
    await vnc?.stop();
    for (const zone of ['web', 'vm1']) await host.haltZone(zone).catch(() => undefined);
    await node?.stop();
    await r?.close();
  });

  it('VNC on replica A: RFB handshake and a framebuffer update, relayed from B', async () => {
    const ws = new WebSocket(r.wsUrl(0, `/v1/nodes/${node.id}/zones/vm1/vnc`), ['binary'], { headers: r.headers });
    const rfb = new RfbClient(wsTransport(ws));
    await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
    const { version, init } = await rfb.handshake();
    assert.equal(version, 'RFB 003.008\n');
    assert.deepEqual([init.width, init.height], [320, 240]);
    rfb.requestUpdate(init);
    assert.equal((await rfb.readUpdate(init)).pixelBytes, 320 * 240 * (init.bitsPerPixel / 8));
    assert.deepEqual((await r.via(0).request('/v1/tunnel/stats')).body.relayed_streams, { out: 1, in: 0 });
    assert.deepEqual((await r.via(1).request('/v1/tunnel/stats')).body.relayed_streams, { out: 0, in: 1 });
    ws.close();
  });

  it('zone console on replica A: a line in, its echo out', async () => {
    const ws = new WebSocket(r.wsUrl(0, `/v1/nodes/${node.id}/zones/web/console`), { headers: r.headers });
    let text = '';
    ws.on('message', (d: Buffer) => (text += d.toString()));
    await new Promise((ok, fail) => (ws.once('open', ok), ws.once('error', fail)));
    ws.send('relayed\r');
    await waitFor('echo', async () => (/relayed[\s\S]*web console login: /.test(text) ? true : undefined), 10_000);
    ws.close();
  });
});
