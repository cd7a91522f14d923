import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ReverseProxyConfig } from '@hostplane/protocol';
import { MachineEventFollower } from '../src/parallels/machine-events';
import { REVERSE_PROXY_FILE, ReverseProxy } from '../src/reverse-proxy/reverse-proxy';
import { VmAddressBook } from '../src/reverse-proxy/vm-addresses';
import { tempDir } from './support/agent-process';
import {
  backend,
  freePort,
  httpRoute,
  proxyHost,
  selfSignedCert,
  tcpEcho,
  tcpExchange,
  tcpRoute,
} from './support/proxy-backends';
import { simParallels } from './support/sim-parallels';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

describe('reverse proxy on the agent: VM targets followed across address changes (simulated prlctl)', () => {
  const sim = simParallels();
  const stateDir = tempDir('hp-rproxy-');
  let vmId = '';
  let book: VmAddressBook;
  let proxy: ReverseProxy;
  let follower: MachineEventFollower;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    sim.prlctl('start', 'base');
    sim.prlctl('set', 'base', '--device-set', 'net0', '--ipadd', '127.0.0.2');
    vmId = (await sim.host.machine('base'))!.id;
    // No poll to speak of: only the monitor's events may move the proxy to a new address.
    book = new VmAddressBook({ list: () => sim.host.machines(), pollMs: 600_000 });
    proxy = new ReverseProxy(stateDir, book);
    follower = new MachineEventFollower(sim.host, () => undefined);
    follower.onVmEvent = (id) => book.changed(id);
    follower.start();
    await sleep(300); // The monitor tails the event log from its end: let it open first.
  });
  after(async () => {
    follower.close();
    await proxy.close();
    for (const c of closers) await c().catch(() => undefined);
  });

  it('serves a route to a VM by id and follows it to its new address with no failed request once the change settles', async () => {
    const a = await backend('A', '127.0.0.2');
    closers.push(a.close);
    const port = await freePort();
    const host = proxyHost({ listen_port: port, routes: [httpRoute({ target_vm_id: vmId, target_port: a.port })] });
    await proxy.apply({ hosts: [host] });
    const first = await get(`http://127.0.0.1:${port}/hello?x=1`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.name, 'A');
    assert.equal(first.body.url, '/hello?x=1');
    assert.equal(first.body.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(first.body.headers['x-forwarded-proto'], 'http');
    assert.equal(first.body.headers['x-forwarded-host'], `127.0.0.1:${port}`);

    // The VM moves: its service comes up on the new address, the old one goes away.
    const b = await backend('B', '127.0.0.3', a.port);
    closers.push(b.close);
    const results: { at: number; ok: boolean; name?: string }[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const at = Date.now();
        try {
          const r = await get(`http://127.0.0.1:${port}/loop`);
          results.push({ at, ok: r.status === 200, name: r.body?.name });
        } catch {
          results.push({ at, ok: false });
        }
        await sleep(5);
      }
    })();
    await sleep(200);
    const refreshesBefore = book.refreshes;
    const changedAt = Date.now();
    await a.close();
    sim.prlctl('set', 'base', '--device-set', 'net0', '--ipadd', '127.0.0.3');
    const deadline = Date.now() + 10_000;
    while (!results.some((r) => r.name === 'B') && Date.now() < deadline) await sleep(10);
    const settledAt = results.find((r) => r.name === 'B')?.at;
    assert.ok(settledAt, 'the proxy reached the VM at its new address');
    // At least a second and 20 requests after the change settled (a loaded machine answers slowly).
    const enough = Date.now() + 20_000;
    await sleep(1000);
    while (results.filter((r) => r.at >= settledAt).length <= 20 && Date.now() < enough) await sleep(50);
    stop = true;
    await loop;
    const afterSettle = results.filter((r) => r.at >= settledAt);
    assert.ok(afterSettle.length > 20, `requests after the change: ${afterSettle.length}`);
    assert.equal(afterSettle.filter((r) => !r.ok).length, 0, 'no failed request after the change settled');
    assert.ok(afterSettle.every((r) => r.name === 'B'));
    assert.ok(book.refreshes > refreshesBefore, 'the monitor event made the proxy read the address again');
    assert.ok(settledAt - changedAt < 5000, `settled in ${settledAt - changedAt} ms`);
    assert.equal(book.address(vmId), '127.0.0.3');
  });

  it('relays a TCP route both ways to the VM', async () => {
    const echo = await tcpEcho('vm', '127.0.0.3');
    closers.push(echo.close);
    const web = await freePort();
    const tcp = await freePort();
    const host = proxyHost({
      listen_port: web,
      tcp_routes: [tcpRoute({ listen_port: tcp, target_vm_id: vmId, target_port: echo.port })],
    });
    const [status] = await proxy.apply({ hosts: [host] });
    assert.deepEqual(status.tcp_routes[0], {
      id: host.tcp_routes[0].id,
      listen_port: tcp,
      listening: true,
      error: null,
    });
    assert.equal(await tcpExchange(tcp, 'ping', 'vm:ping'.length), 'vm:ping');
    const big = 'x'.repeat(256 * 1024);
    const back = await tcpExchange(tcp, big, big.length + 3);
    assert.equal(back.length, big.length + 3, 'large payloads cross both ways');
  });

  it('answers 502 when the target is down and 504 when it is slow, in the {error, code} envelope', async () => {
    const slow = await backend('slow', '127.0.0.1', 0, (_req, res) => {
      setTimeout(() => res.end('late'), 3000).unref();
    });
    closers.push(slow.close);
    const dead = await freePort();
    const port = await freePort();
    await proxy.apply({
      hosts: [
        proxyHost({
          listen_port: port,
          timeout_ms: 300,
          routes: [
            httpRoute({ path_pattern: '^/slow', target_host: '127.0.0.1', target_port: slow.port }),
            httpRoute({ path_pattern: '^/dead', target_host: '127.0.0.1', target_port: dead }),
            httpRoute({ path_pattern: '^/vm', target_vm_id: vmId, target_port: dead }),
          ],
        }),
      ],
    });
    const t0 = Date.now();
    const timeout = await get(`http://127.0.0.1:${port}/slow`);
    assert.equal(timeout.status, 504);
    assert.equal(timeout.body.code, 'upstream_timeout');
    assert.ok(Date.now() - t0 < 2500, 'the timeout answers before the backend would');
    const down = await get(`http://127.0.0.1:${port}/dead`);
    assert.equal(down.status, 502);
    assert.equal(down.body.code, 'upstream_unreachable');
    assert.equal(typeof down.body.error, 'string');
    const none = await get(`http://127.0.0.1:${port}/nothing`);
    assert.equal(none.status, 404);
    assert.equal(none.body.code, 'route_not_found');

    sim.prlctl('stop', 'base', '--kill');
    const until = Date.now() + 5000;
    while (book.address(vmId) !== null && Date.now() < until) await sleep(20);
    const stopped = await get(`http://127.0.0.1:${port}/vm`);
    assert.equal(stopped.status, 502);
    assert.equal(stopped.body.code, 'vm_unreachable');
    sim.prlctl('start', 'base');
    while (book.address(vmId) === null && Date.now() < until + 5000) await sleep(20);
    assert.equal(book.address(vmId), '127.0.0.3', 'a started VM is reachable again');
  });

  it('answers 502 when the target never accepts the connection, after the connect timeout rather than the answer timeout', async () => {
    // A listener that never accepts, its accept queue filled: the next connection hangs unanswered.
    const listener = spawn('python3', [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
    ]);
    closers.push(async () => void listener.kill());
    const [line] = (await once(listener.stdout!, 'data')) as [Buffer];
    const blackhole = Number(line.toString().trim());
    const fillers = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(blackhole, '127.0.0.1');
            s.on('error', () => undefined);
            setTimeout(() => resolve(s), 300);
          }),
      ),
    );
    closers.push(async () => fillers.forEach((s) => s.destroy()));
    const port = await freePort();
    await proxy.apply({
      hosts: [
        proxyHost({
          listen_port: port,
          timeout_ms: 20_000,
          routes: [httpRoute({ path_pattern: '^/', target_host: '127.0.0.1', target_port: blackhole })],
        }),
      ],
    });
    const t0 = Date.now();
    const res = await get(`http://127.0.0.1:${port}/`);
    const ms = Date.now() - t0;
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.code, 'upstream_unreachable');
    assert.ok(ms >= 4000 && ms < 10_000, `answered after ${ms} ms (connect timeout 5 s, answer timeout 20 s)`);
  });

  it('rewrites headers, answers CORS preflights and passes websocket upgrades through', async () => {
    const svc = await backend('svc', '127.0.0.1');
    closers.push(svc.close);
    const port = await freePort();
    await proxy.apply({
      hosts: [
        proxyHost({
          listen_port: port,
          cors: {
            allowed_origins: ['https://app.example.com'],
            allowed_methods: ['GET', 'POST'],
            allowed_headers: ['X-Token'],
            allow_credentials: false,
            max_age_seconds: 60,
          },
          routes: [
            httpRoute({
              target_host: '127.0.0.1',
              target_port: svc.port,
              request_headers: { add: { 'X-Env': 'staging' }, remove: ['Cookie'] },
              response_headers: { add: { 'X-Served-By': 'hostplane' }, remove: ['X-Secret'] },
              forwarded_headers: false,
            }),
          ],
        }),
      ],
    });
    const r = await get(`http://127.0.0.1:${port}/h`, {
      headers: { cookie: 'session=1', origin: 'https://app.example.com' },
    });
    assert.equal(r.body.headers['x-env'], 'staging');
    assert.equal(r.body.headers.cookie, undefined);
    assert.equal(r.body.headers['x-forwarded-for'], undefined);
    assert.equal(r.headers.get('x-served-by'), 'hostplane');
    assert.equal(r.headers.get('x-secret'), null);
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example.com');

    const pre = await get(`http://127.0.0.1:${port}/h`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET, POST');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'X-Token');
    const other = await get(`http://127.0.0.1:${port}/h`, { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);

    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/ws',
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.on('upgrade', (_res, socket) => {
        socket.write('hello');
        socket.once('data', (d: Buffer) => {
          socket.destroy();
          resolve(d.toString());
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(echoed, 'svc:hello');
  });

  it('serves TLS with a certificate, reports a taken port, and a new proxy serves the saved configuration', async () => {
    const svc = await backend('tls-backend', '127.0.0.1');
    closers.push(svc.close);
    const tls = selfSignedCert();
    const port = await freePort();
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => taken.close(() => r())));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const config: ReverseProxyConfig = {
      hosts: [
        proxyHost({
          name: 'secure',
          listen_port: port,
          tls,
          tls_fingerprint: 'fp1',
          routes: [httpRoute({ target_host: '127.0.0.1', target_port: svc.port })],
        }),
        proxyHost({ name: 'clash', listen_port: takenPort }),
      ],
    };
    const statuses = await proxy.apply(config);
    assert.equal(statuses[0].listening, true);
    assert.equal(statuses[1].listening, false);
    assert.match(statuses[1].error ?? '', new RegExp(`127\\.0\\.0\\.1:${takenPort}: the port is already in use`));

    const viaTls = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, path: '/secure', ca: tls.cert_pem, servername: 'localhost', agent: false },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        )
        .on('error', reject);
    });
    assert.equal(viaTls.status, 200);
    assert.equal(viaTls.body.headers['x-forwarded-proto'], 'https');

    const file = join(stateDir, REVERSE_PROXY_FILE);
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the saved configuration (with its key) is private');
    await proxy.close();
    const again = new ReverseProxy(stateDir, new VmAddressBook({ list: () => sim.host.machines() }));
    proxy = again;
    await again.restore();
    const https2 = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/', ca: tls.cert_pem, servername: 'localhost', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    assert.equal(https2, 200, 'a restarted agent serves the routes it served before');
  });
});
