import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/** The agent's simulated Parallels tools (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A real HTTP server standing in for the VM's service. */
async function backend(name: string, host: string, port = 0, delayMs = 0) {
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
    }, delayMs).unref();
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function call(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

function selfSigned(): { cert_pem: string; key_pem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hp-rp-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=localhost'].concat([
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'ignore' },
  );
  return { cert_pem: readFileSync(join(dir, 'cert.pem'), 'utf8'), key_pem: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

describe('reverse proxy API end to end: hub → reverse_proxy.apply → agent → VM at its current address', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let vmId = '';
  const state = join(mkdtempSync(join(tmpdir(), 'hp-rpapi-')), 's');
  const env = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
  };
  const prlctl = (...args: string[]) =>
    execFileSync(join(SIM_BIN, 'prlctl'), args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const base = () => `/v1/nodes/${node.id}/reverse-proxy/hosts`;
  const closers: (() => Promise<void>)[] = [];

  async function write(path: string, json?: unknown, method = 'POST', status = 200): Promise<any> {
    const res = await owner.request(path, { method, ...(json === undefined ? {} : { json }) });
    assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
    return res.body;
  }
  async function applied(operationId: string, expect = 'succeeded'): Promise<any> {
    const done = await waitForOperation(owner, operationId, 60_000);
    assert.equal(done.status, expect, JSON.stringify(done));
    return done;
  }

  before(async () => {
    prlctl('create', 'web-vm', '-d', 'ubuntu');
    prlctl('start', 'web-vm');
    prlctl('set', 'web-vm', '--device-set', 'net0', '--ipadd', '127.0.0.21');
    vmId = (JSON.parse(prlctl('list', '-a', '-i', '--json'))[0].ID as string).replace(/[{}]/g, '');
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, env);
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    for (const c of closers) await c().catch(() => undefined);
    await node?.stop();
    await ctx?.close();
  });

  it('checks every field strictly (4xx naming it, never 500) and keeps the TLS key sealed, shown only as has_tls and a fingerprint', async () => {
    const port = await freePort();
    const bad: [unknown, string][] = [
      [{ name: 'a', listen_host: 'example.com', listen_port: port }, 'listen_host'],
      [{ name: 'a', listen_host: '0.0.0.0', listen_port: 70000 }, 'listen_port'],
      [{ name: 'a', listen_port: 0 }, 'listen_port'],
      [{ name: 'a', listen_port: port, timeout_ms: 5 }, 'timeout_ms'],
      [{ name: 'a', listen_port: port, cors: { allowed_origins: ['javascript:alert(1)'] } }, 'cors'],
      [{ name: 'a', listen_port: port, tls: { cert_pem: 'nope', key_pem: 'nope' } }, 'tls'],
      [{ name: 'a', listen_port: port, extra: 1 }, ''],
    ];
    for (const [json, field] of bad) {
      const res = await owner.request(base(), { method: 'POST', json });
      assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(json)}: ${res.status} ${res.text}`);
      assert.ok(res.text.includes(field), `${res.text} names ${field}`);
      assert.equal(typeof res.body.code, 'string');
    }
    const tls = selfSigned();
    const created = await write(base(), { name: 'checked', listen_port: port, tls }, 'POST', 201);
    assert.equal(created.has_tls, true);
    assert.match(created.tls_fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(!JSON.stringify(created).includes('PRIVATE KEY'), 'the key is never returned');
    const [row] = await ctx.hub.app
      .get(DataSource)
      .query('SELECT tls_sealed FROM reverse_proxy_hosts WHERE id = $1', [created.id]);
    assert.ok(row.tls_sealed.startsWith('v1.') && !row.tls_sealed.includes('PRIVATE'), 'sealed at rest');
    const [op] = await ctx.hub.app
      .get(DataSource)
      .query('SELECT payload::text AS payload FROM operations WHERE id = $1', [created.operation_id]);
    assert.ok(!op.payload.includes('PRIVATE KEY'), 'the operation row never holds the key');
    await applied(created.operation_id);
    const wrongKey = selfSigned();
    const mismatch = await owner.request(`${base()}/${created.id}`, {
      method: 'PATCH',
      json: { tls: { cert_pem: tls.cert_pem, key_pem: wrongKey.key_pem } },
    });
    assert.equal(mismatch.status, 400, mismatch.text);
    assert.equal(mismatch.body.code, 'invalid_certificate');
    assert.ok(!mismatch.text.includes('PRIVATE'));

    const routes = `${base()}/${created.id}/routes`;
    const badRoutes: [unknown, string][] = [
      [{ path_pattern: '(', target_host: '127.0.0.1', target_port: 80 }, 'path_pattern'],
      [{ path_pattern: 'a'.repeat(513), target_host: '127.0.0.1', target_port: 80 }, 'path_pattern'],
      [{ target_port: 80 }, 'target_vm_id'],
      [{ target_vm_id: vmId, target_host: '127.0.0.1', target_port: 80 }, 'target_vm_id'],
      [{ target_vm_id: '../../etc', target_port: 80 }, 'target_vm_id'],
      [{ target_host: 'bad host;rm', target_port: 80 }, 'target_host'],
      [{ target_host: '127.0.0.1', target_port: 65536 }, 'target_port'],
      [
        { target_host: '127.0.0.1', target_port: 80, request_headers: { add: { 'Bad Header': 'x' } } },
        'request_headers',
      ],
      [
        { target_host: '127.0.0.1', target_port: 80, request_headers: { add: { 'X-A': 'x\r\nInjected: 1' } } },
        'request_headers',
      ],
      [{ target_host: '127.0.0.1', target_port: 80, response_headers: { remove: ['Host'] } }, 'response_headers'],
    ];
    for (const [json, field] of badRoutes) {
      const res = await owner.request(routes, { method: 'POST', json });
      assert.equal(res.status, 400, `${JSON.stringify(json)}: ${res.text}`);
      assert.ok(res.text.includes(field), `${res.text} names ${field}`);
    }
    const clash = await owner.request(base(), { method: 'POST', json: { name: 'clash', listen_port: port } });
    assert.equal(clash.status, 409, clash.text);
    assert.equal(clash.body.code, 'port_taken');
    const tcpClash = await owner.request(`${base()}/${created.id}/tcp-routes`, {
      method: 'POST',
      json: { listen_port: port, target_host: '127.0.0.1', target_port: 22 },
    });
    assert.equal(tcpClash.status, 409, tcpClash.text);
    const dup = await owner.request(base(), {
      method: 'POST',
      json: { name: 'checked', listen_port: await freePort() },
    });
    assert.equal(dup.status, 409, dup.text);
    assert.equal((await owner.request(`${base()}/not-a-uuid`)).status, 400);
    assert.equal((await owner.request(`${base()}/${created.id}/reboot`, { method: 'POST' })).status, 400);

    const gone = await write(`${base()}/${created.id}`, undefined, 'DELETE', 202);
    await applied(gone.id);
    assert.equal((await owner.request(`${base()}/${created.id}`)).status, 404);
  });

  it("keeps each organization's hosts to itself and needs reverse_proxy.manage to change them", async () => {
    const created = await write(base(), { name: 'private', listen_port: await freePort() }, 'POST', 201);
    await applied(created.operation_id);
    const other = await ctx.newOrg();
    assert.equal((await other.owner.request(base())).status, 404, "another org cannot reach this org's node");
    assert.equal((await other.owner.request(`${base()}/${created.id}`)).status, 404);
    const theirs = await other.owner.request(base(), { method: 'POST', json: { name: 'x', listen_port: 8080 } });
    assert.equal(theirs.status, 404, theirs.text);
    const member = await ctx.addMember({ id: owner.defaultOrg!, owner }, 'member');
    assert.equal(
      (await member.request(base(), { method: 'POST', json: { name: 'm', listen_port: 8081 } })).status,
      403,
    );
    assert.equal((await member.request(`${base()}/${created.id}/disable`, { method: 'POST' })).status, 403);
    const gone = await write(`${base()}/${created.id}`, undefined, 'DELETE', 202);
    await applied(gone.id);
  });

  it('serves a route to target_vm_id, follows the VM to a new address with no failure after it settles, relays TCP, answers 502/504', async () => {
    const a = await backend('A', '127.0.0.21');
    closers.push(a.close);
    const slow = await backend('slow', '127.0.0.1', 0, 3000);
    closers.push(slow.close);
    const port = await freePort();
    const host = await write(
      base(),
      { name: 'web', listen_host: '127.0.0.1', listen_port: port, timeout_ms: 500 },
      'POST',
      201,
    );
    await write(
      `${base()}/${host.id}/routes`,
      { path_pattern: '^/slow', target_host: '127.0.0.1', target_port: slow.port },
      'POST',
      201,
    );
    await write(
      `${base()}/${host.id}/routes`,
      { path_pattern: '^/down', target_host: '127.0.0.1', target_port: await freePort() },
      'POST',
      201,
    );
    const withRoute = await write(
      `${base()}/${host.id}/routes`,
      { target_vm_id: `{${vmId.toUpperCase()}}`, target_port: a.port },
      'POST',
      201,
    );
    assert.equal(withRoute.routes.length, 3);
    assert.equal(withRoute.routes[2].target_vm_id, vmId, 'kept as a bare lower-case UUID');
    const done = await applied(withRoute.operation_id);
    assert.equal(done.result.hosts[0].listening, true);

    const first = await call(`http://127.0.0.1:${port}/app`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.name, 'A');
    assert.equal(first.body.headers['x-forwarded-for'], '127.0.0.1');
    const timeout = await call(`http://127.0.0.1:${port}/slow`);
    assert.deepEqual([timeout.status, timeout.body.code], [504, 'upstream_timeout']);
    const down = await call(`http://127.0.0.1:${port}/down`);
    assert.deepEqual([down.status, down.body.code], [502, 'upstream_unreachable']);

    const b = await backend('B', '127.0.0.22', a.port);
    closers.push(b.close);
    const results: { at: number; ok: boolean; name?: string }[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const at = Date.now();
        const r = await call(`http://127.0.0.1:${port}/loop`).catch(() => ({ status: 0, body: null }));
        results.push({ at, ok: r.status === 200, name: r.body?.name });
        await sleep(5);
      }
    })();
    await sleep(200);
    await a.close();
    prlctl('set', 'web-vm', '--device-set', 'net0', '--ipadd', '127.0.0.22');
    await waitFor('the proxy to reach the new address', async () =>
      results.some((r) => r.name === 'B') ? true : undefined,
    );
    const settledAt = results.find((r) => r.name === 'B')!.at;
    // At least a second and 20 requests after the change settled (a loaded machine answers slowly).
    const enough = Date.now() + 20_000;
    await sleep(1000);
    while (results.filter((r) => r.at >= settledAt).length <= 20 && Date.now() < enough) await sleep(50);
    stop = true;
    await loop;
    const afterSettle = results.filter((r) => r.at >= settledAt);
    assert.ok(afterSettle.length > 20);
    assert.equal(afterSettle.filter((r) => !r.ok).length, 0, 'no failed request after the address change settled');

    const echo = net.createServer((s) => {
      s.write('vm:');
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.22', r));
    closers.push(() => new Promise((r) => echo.close(() => r())));
    const tcpPort = await freePort();
    const tcp = await write(
      `${base()}/${host.id}/tcp-routes`,
      { listen_port: tcpPort, target_vm_id: vmId, target_port: (echo.address() as net.AddressInfo).port },
      'POST',
      201,
    );
    await applied(tcp.operation_id);
    const relayed = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: tcpPort }, () => s.write('ping'));
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
        if (got.length >= 7) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    assert.equal(relayed, 'vm:ping', 'bytes cross the TCP route both ways');
  });

  it('disables, enables and restarts a host; a taken port fails the operation clearly; a restarted agent serves the same routes', async () => {
    const [web] = (await owner.request(base())).body.data as { id: string; listen_port: number }[];
    const url = `http://127.0.0.1:${web.listen_port}/app`;
    const off = await write(`${base()}/${web.id}/disable`, undefined, 'POST', 202);
    await applied(off.id);
    await assert.rejects(call(url), 'a disabled host does not listen');
    const on = await write(`${base()}/${web.id}/enable`, undefined, 'POST', 202);
    await applied(on.id);
    assert.equal((await call(url)).status, 200);
    const restarted = await write(`${base()}/${web.id}/restart`, undefined, 'POST', 202);
    await applied(restarted.id);
    assert.equal((await call(url)).body.name, 'B');

    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => squatter.close(() => r())));
    const takenPort = (squatter.address() as net.AddressInfo).port;
    const blocked = await write(
      base(),
      { name: 'blocked', listen_host: '127.0.0.1', listen_port: takenPort },
      'POST',
      201,
    );
    const failed = await applied(blocked.operation_id, 'failed');
    assert.equal(failed.error.code, 'listen_failed');
    assert.match(
      failed.error.message,
      new RegExp(`blocked: cannot listen on 127\\.0\\.0\\.1:${takenPort}: the port is already in use`),
    );
    assert.equal((await call(url)).status, 200, 'the other hosts keep serving');
    await applied((await write(`${base()}/${blocked.id}`, undefined, 'DELETE', 202)).id);

    const tls = selfSigned();
    const tlsPort = await freePort();
    const secure = await write(
      base(),
      { name: 'secure', listen_host: '127.0.0.1', listen_port: tlsPort, tls },
      'POST',
      201,
    );
    const routed = await write(
      `${base()}/${secure.id}/routes`,
      { target_vm_id: vmId, target_port: await firstBackendPort() },
      'POST',
      201,
    );
    await applied(routed.operation_id);
    const getTls = () =>
      new Promise<any>((resolve, reject) => {
        https
          .get(
            { host: '127.0.0.1', port: tlsPort, path: '/tls', ca: tls.cert_pem, servername: 'localhost', agent: false },
            (res) => {
              let text = '';
              res.on('data', (d) => (text += d));
              res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
            },
          )
          .on('error', reject);
      });
    const viaTls = await getTls();
    assert.equal(viaTls.status, 200);
    assert.equal(viaTls.body.headers['x-forwarded-proto'], 'https');

    await node.agent!.stop();
    await node.waitStatus('offline');
    await assert.rejects(call(url), 'a stopped agent serves nothing');
    node.start();
    await waitFor('the restarted agent to serve its routes', async () =>
      (await call(url).catch(() => null))?.status === 200 ? true : undefined,
    );
    assert.equal((await call(url)).body.name, 'B');
    assert.equal((await getTls()).status, 200, 'TLS hosts come back with their certificate');
    await node.waitStatus('online');
  });

  /** The port of the VM's service, as the first route of "web" names it. */
  async function firstBackendPort(): Promise<number> {
    const [web] = (await owner.request(base())).body.data as {
      routes: { target_vm_id: string | null; target_port: number }[];
    }[];
    return web.routes.find((r) => r.target_vm_id !== null)!.target_port;
  }
});
