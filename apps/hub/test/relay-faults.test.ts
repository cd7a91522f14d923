import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { registerNode, TestNode, waitFor } from './support/agents';
import { patternBytes } from './support/instance-files';
import { type Closed, openSocket, type OpenSocket, within } from './support/live-sockets';
import { Replicas } from './support/replicas';

const MiB = 1024 * 1024;
const A = 0;
const B = 1;
const C = 2;

const IDLE_WORKLOAD = {
  name: 'relay-idle',
  driver: 'process',
  startup: 'echo ready; while read -r line; do echo "got: $line"; done',
  variables: [],
  resources: { cpu_cores: 0.1, memory_bytes: 64 * MiB, disk_bytes: 0 },
  ready_pattern: '^ready',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 1 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

/**
 * Three replicas, the agent on C, users on A and B. Whichever process dies mid-stream — the one
 * holding the agent or the one relaying — every client learns within seconds, with a reason,
 * and a byte stream never passes for complete.
 */
describe('relayed streams when a replica dies or the agent moves', () => {
  let r: Replicas;
  let node: TestNode;
  let instanceId: string;

  const stats = async (i: number) => (await r.via(i).request('/v1/tunnel/stats')).body;
  const terminalOn = async (i: number): Promise<OpenSocket> => {
    const term = await openSocket(r.hubs[i]!.asTestHub(), `/v1/nodes/${node.id}/terminal`, r.headers);
    const marker = `alive-${i}-${Date.now()}`;
    term.ws.send(`echo ${marker}\n`);
    await waitFor('terminal echo', async () => (term.received().includes(marker) ? true : undefined), 10_000);
    return term;
  };
  const closedWithin = async (what: string, closed: Promise<Closed>, from: number, ms: number): Promise<Closed> => {
    const c = await within(closed, ms);
    assert.ok(c, `${what}: still open ${ms} ms after the kill`);
    assert.ok(c.at - from <= ms, `${what}: closed after ${c.at - from} ms`);
    return c;
  };

  before(async () => {
    r = await Replicas.start(3);
    node = await registerNode(r.via(C), r.hubs[C]!.url);
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await r.via(A).request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await r.via(A).request('/v1/workloads', { method: 'POST', json: IDLE_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const created = await r.via(A).request('/v1/instances', {
      method: 'POST',
      json: { name: 'relay-faults', workload_id: w.body.id, node_id: node.id },
    });
    assert.equal(created.status, 202, created.text);
    instanceId = created.body.instance.id;
    await waitFor(
      'running',
      async () => ((await r.via(A).request(`/v1/instances/${instanceId}`)).body.state === 'running' ? true : undefined),
      60_000,
    );
    const dir = join(node.stateDir, 'instances', instanceId, 'data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'big.bin'), patternBytes(64 * MiB, 1));
  });

  after(async () => {
    await node?.stop();
    await r?.close();
  });

  it('the relay listener refuses a connection without a valid replica credential', async () => {
    const url = /"url":"(ws:\/\/[^"]+)","msg":"stream relay listening"/.exec(r.hubs[C]!.output)?.[1];
    assert.ok(url, 'C logged its relay address');
    for (const headers of [{}, { 'x-hostplane-relay': `v1.hub-evil.hub-x.${Date.now()}.nonce.${'A'.repeat(43)}` }]) {
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${url}/internal/v1/stream-relay`, { headers });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('an unauthenticated relay connection was accepted')));
        ws.once('error', reject);
      });
      assert.equal(status, 401);
    }
  });

  it('a download to a client that stops reading holds the agent back: nothing piles up on either replica', async () => {
    const res = await fetch(r.hubs[A]!.url + `/v1/instances/${instanceId}/files/download?path=big.bin`, {
      headers: r.headers,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((ok) => setTimeout(ok, 1500));
    const first = (await stats(C)).bytes_in_total as number;
    await new Promise((ok) => setTimeout(ok, 1000));
    const second = (await stats(C)).bytes_in_total as number;
    // Heartbeats and inventory still arrive; file bytes do not (one chunk is 32 KiB).
    assert.ok(second - first < 32 * 1024, `the agent kept sending: ${second - first} bytes in 1 s`);
    assert.ok(second < 40 * MiB, `the agent sent ${second} bytes of 64 MiB to a reader that stopped`);
    await reader.cancel();
    await waitFor('stream released on C', async () => ((await stats(C)).open_streams === 0 ? true : undefined), 5000);
  });

  it('kill -9 of the relaying replica: the client socket closes, the owner ends the agent stream at once', async () => {
    const term = await terminalOn(A);
    assert.equal((await stats(C)).relayed_streams.in, 1);
    const t0 = Date.now();
    await r.hubs[A]!.kill('SIGKILL');
    await closedWithin('terminal on A', term.closed, t0, 3000);
    await waitFor(
      'C released the stream',
      async () => {
        const s = await stats(C);
        return s.relayed_streams.in === 0 && s.open_streams === 0 ? true : undefined;
      },
      3000,
    );
    await r.hubs[A]!.start();
    const again = await terminalOn(A);
    again.ws.close();
  });

  it('kill -9 of the replica holding the agent: a terminal on A and a console on B close with a reason, a download aborts, an upload fails', async () => {
    const term = await terminalOn(A);
    const consoleWs = await openSocket(
      r.hubs[B]!.asTestHub(),
      `/v1/instances/${instanceId}/console`,
      r.headers,
      /"type":"live"/,
    );
    const download = await fetch(r.hubs[A]!.url + `/v1/instances/${instanceId}/files/download?path=big.bin`, {
      headers: r.headers,
    });
    assert.equal(download.status, 200);
    const reader = download.body!.getReader();
    let received = (await reader.read()).value?.length ?? 0;
    const upload = slowUpload(r.hubs[B]!.url + `/v1/instances/${instanceId}/files/content?path=up.bin`, r.headers);
    // Terminal, console, download and upload: all four held on C for A and B.
    await waitFor(
      'upload under way',
      async () => ((await stats(C)).relayed_streams.in === 4 && upload.sent() > MiB ? true : undefined),
      10_000,
    );

    const t0 = Date.now();
    await r.hubs[C]!.kill('SIGKILL');
    const closed = await closedWithin('terminal on A', term.closed, t0, 3000);
    assert.equal(closed.code, 1001);
    assert.match(closed.reason, /hub replica holding the node's connection went away/);
    const consoleClosed = await closedWithin('console on B', consoleWs.closed, t0, 3000);
    assert.equal(consoleClosed.code, 1001);

    const cut = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return false;
        received += value.length;
      }
    })().catch(() => true);
    assert.equal(await within(cut, 3000), true, 'the download broke off instead of ending as if complete');
    assert.ok(received < 64 * MiB);
    const answer = await within(upload.answer, 3000);
    assert.ok(answer, 'the upload got an answer within 3 s');
    assert.ok(answer.status === 0 || answer.status >= 500, `the upload failed (${answer.status} ${answer.body})`);
    if (answer.status) assert.match(answer.body, /transfer_interrupted|node_offline/);
    upload.stop();

    // C comes back as a new replica (new id, new epoch): the agent reconnects, and A finds it there.
    await r.hubs[C]!.start();
    await waitFor('agent back on C', async () => ((await stats(C)).connected_agents === 1 ? true : undefined), 20_000);
    const again = await terminalOn(A);
    again.ws.close();
  });

  it('the agent moves to B: a stream through the old owner ends with a reason, a new one from A reaches the agent on B', async () => {
    const term = await terminalOn(A);
    await node.stop();
    const moved = new TestNode(node.id, node.stateDir, node.client, { HOSTPLANE_AGENT_HUB_URL: r.hubs[B]!.url });
    moved.start();
    node = moved;
    const closed = await closedWithin('terminal on A', term.closed, Date.now(), 5000);
    assert.match(closed.reason, /agent disconnected|went away/);
    await waitFor('agent on B', async () => ((await stats(B)).connected_agents === 1 ? true : undefined), 20_000);
    const again = await terminalOn(A);
    assert.equal((await stats(B)).relayed_streams.in, 1, 'relayed to the new owner');
    again.ws.close();
  });
});

/**
 * A PUT whose body keeps coming (256 KiB every 20 ms) until stopped; `answer` is the response (status 0: the connection
 * broke).
 */
function slowUpload(url: string, headers: Record<string, string>) {
  let sent = 0;
  const req = httpRequest(url, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' } });
  const answer = new Promise<{ status: number; body: string }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
  });
  const chunk = Buffer.alloc(256 * 1024, 7);
  const timer: NodeJS.Timeout = setInterval(() => {
    if (req.destroyed) return clearInterval(timer);
    req.write(chunk);
    sent += chunk.length;
  }, 20);
  return {
    sent: () => sent,
    answer,
    stop: () => {
      clearInterval(timer);
      req.destroy();
    },
  };
}
