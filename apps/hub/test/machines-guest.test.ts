import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { credentialHeaders, openSocket, within } from './support/live-sockets';
import { Replicas } from './support/replicas';

/** The agent's simulated Parallels tools (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');
const MiB = 1024 * 1024;
const UPLOAD_LIMIT = 2 * MiB;

/** A simulated Parallels host: its state dir, the agent's env, the guest's files, every prlctl argv. */
class SimParallels {
  readonly state = join(mkdtempSync(join(tmpdir(), 'hp-prlguest-')), 's');
  readonly env = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: this.state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
  };

  prlctl(...args: string[]): string {
    return execFileSync(join(SIM_BIN, 'prlctl'), args, { env: { ...process.env, ...this.env }, encoding: 'utf8' });
  }

  /** A file of the VM's guest, by its path in the guest. */
  guestFile(vm: string, path: string): string {
    return join(this.state, 'Parallels', `${vm}.pvm`, 'guest', path);
  }

  calls(): { tool: string; argv: string[] }[] {
    return readFileSync(join(this.state, 'calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { tool: string; argv: string[] });
  }

  /** prlctl calls that act on a guest (exec, enter, installtools). */
  guestCalls() {
    return this.calls().filter((c) => c.tool === 'prlctl' && ['exec', 'enter', 'installtools'].includes(c.argv[0]!));
  }

  vmRecord(name: string): Record<string, unknown> {
    const doc = JSON.parse(readFileSync(join(this.state, 'parallels.json'), 'utf8')) as {
      vms: Record<string, Record<string, unknown>>;
    };
    return Object.values(doc.vms).find((v) => v.name === name)!;
  }
}

interface ExecRun {
  stdout: string;
  stderr: string;
  /** When each piece arrived (ms since the socket opened), by channel. */
  pieces: { channel: number; text: string; at: number }[];
  exit: { type: string; exit_code: number | null; signal: string | null; timed_out: boolean; truncated: boolean };
  exitAt: number;
  close: { code: number; reason: string };
}

/** Runs a streamed exec to its end and collects what the socket said. */
async function execStream(url: string, headers: Record<string, string> = {}): Promise<ExecRun> {
  const ws = new WebSocket(url, { headers });
  const opened = Date.now();
  const pieces: ExecRun['pieces'] = [];
  let exit: ExecRun['exit'] | null = null;
  let exitAt = 0;
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) pieces.push({ channel: data[0]!, text: data.subarray(1).toString('utf8'), at: Date.now() - opened });
    else {
      exit = JSON.parse(data.toString('utf8'));
      exitAt = Date.now() - opened;
    }
  });
  const close = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  assert.ok(exit, `an exit message before the close (${close.code} ${close.reason})`);
  const text = (channel: number) =>
    pieces
      .filter((p) => p.channel === channel)
      .map((p) => p.text)
      .join('');
  return { stdout: text(1), stderr: text(2), pieces, exit, exitAt, close };
}

/** The HTTP status an upgrade is refused with. */
async function refusedUpgrade(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      ws.close();
      reject(new Error(`${url} was accepted`));
    });
    ws.once('error', () => undefined);
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const qs = (argv: string[]) => argv.map((a) => `argv=${encodeURIComponent(a)}`).join('&');
/** Prints on both channels over two seconds, then exits 7. */
const SLOW = ['/bin/sh', '-c', 'echo one; sleep 1; echo two >&2; sleep 1; echo three; exit 7'];

async function startVm(client: Client, node: TestNode, vm: string) {
  const res = await client.request(`/v1/nodes/${node.id}/machines/${vm}/start`, { method: 'POST' });
  assert.equal(res.status, 202, res.text);
  const done = await waitForOperation(client, res.body.id, 60_000);
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
}

async function parallelsReady(node: TestNode) {
  await node.waitStatus('online');
  await waitFor('the parallels driver', async () =>
    (await node.node()).drivers.some((d: { name: string; available: boolean }) => d.name === 'parallels' && d.available)
      ? true
      : undefined,
  );
}

describe('inside the guest: exec stream, upload, guest tools, shell (hub → agent → simulated prlctl)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const sim = new SimParallels();
  const base = () => `/v1/nodes/${node.id}/machines`;
  const wsUrl = (path: string) => ctx.hub.url.replace('http', 'ws') + path;

  before(async () => {
    sim.prlctl('create', 'ubuntu-base', '-d', 'ubuntu');
    sim.prlctl('create', 'powered-off', '-d', 'ubuntu');
    ctx = await IdentityContext.start({
      env: { ...FAST_JOBS_ENV, HOSTPLANE_FILES_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT) },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, sim.env);
    node.start();
    await parallelsReady(node);
    await startVm(owner, node, 'ubuntu-base');
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('exec stream: stdout and stderr arrive live, on their channels, then the exit code', async () => {
    const run = await execStream(wsUrl(`${base()}/ubuntu-base/exec/stream?${qs(SLOW)}`), credentialHeaders(owner));
    assert.equal(run.stdout, 'one\nthree\n');
    assert.equal(run.stderr, 'two\n');
    assert.deepEqual(run.exit, { type: 'exit', exit_code: 7, signal: null, timed_out: false, truncated: false });
    assert.deepEqual(run.close, { code: 1000, reason: 'exit 7' });
    const first = run.pieces.find((p) => p.text.includes('one'))!;
    assert.ok(
      run.exitAt - first.at >= 1500,
      `"one" came ${run.exitAt - first.at} ms before the end: live, not at the end`,
    );
    const exec = sim.guestCalls().at(-1)!;
    assert.deepEqual(exec.argv.slice(0, 1), ['exec']);
    assert.deepEqual(exec.argv.slice(2), SLOW, 'the argv reached prlctl as is');
  });

  it('exec stream: a browser authenticates with ?access_token= and ?org_id=; --current-user passes through', async () => {
    const url = `${base()}/ubuntu-base/exec/stream?${qs(['/bin/echo', 'a b', '$(id)', ';ls'])}&current_user=true&access_token=${owner.accessToken}&org_id=${owner.defaultOrg}`;
    const run = await execStream(wsUrl(url));
    assert.equal(run.stdout, 'a b $(id) ;ls\n', 'each argument is one argument, no shell between');
    assert.equal(run.exit.exit_code, 0);
    assert.deepEqual(sim.guestCalls().at(-1)!.argv.slice(2), ['--current-user', '/bin/echo', 'a b', '$(id)', ';ls']);
  });

  it('exec stream: bounded by time and by output', async () => {
    const slow = await execStream(
      wsUrl(`${base()}/ubuntu-base/exec/stream?${qs(['/bin/sh', '-c', 'echo start; sleep 30'])}&timeout_seconds=1`),
      credentialHeaders(owner),
    );
    assert.equal(slow.stdout, 'start\n');
    assert.equal(slow.exit.timed_out, true);
    assert.ok(slow.exitAt < 10_000, `stopped after ${slow.exitAt} ms`);
    const loud = await execStream(
      wsUrl(`${base()}/ubuntu-base/exec/stream?${qs(['/bin/sh', '-c', 'yes hostplane'])}&max_output_bytes=100000`),
      credentialHeaders(owner),
    );
    assert.equal(loud.stdout.length, 100_000);
    assert.equal(loud.exit.truncated, true);
  });

  it('exec stream and shell: injection strings in the VM or the argv → 400 and no prlctl call', async () => {
    const before = sim.guestCalls().length;
    const headers = credentialHeaders(owner);
    for (const vm of ['a;rm -rf /', '-rf', '$(id)', '`id`', 'vm|cat', '.hidden', ' lead', 'x\nnl'])
      for (const tail of [`exec/stream?${qs(['/bin/true'])}`, 'shell'])
        assert.equal(
          await refusedUpgrade(wsUrl(`${base()}/${encodeURIComponent(vm)}/${tail}`), headers),
          400,
          `${JSON.stringify(vm)} ${tail}`,
        );
    for (const query of [
      qs(['-e', 'x']),
      qs(['--help']),
      qs(['/bin/echo', 'a\u0000b']),
      '',
      `${qs(['/bin/true'])}&timeout_seconds=0`,
    ])
      assert.equal(await refusedUpgrade(wsUrl(`${base()}/ubuntu-base/exec/stream?${query}`), headers), 400, query);
    assert.equal(sim.guestCalls().length, before, 'no exec or enter ran');
    const denied = await refusedUpgrade(wsUrl(`${base()}/no-such-vm/exec/stream?${qs(['/bin/true'])}`), headers);
    assert.equal(denied, 404);
    assert.equal(await refusedUpgrade(wsUrl(`${base()}/powered-off/shell`), headers), 409, 'a stopped VM');
  });

  it("another organization's node is 404; a member without machines.execute is 403 (sockets and upload)", async () => {
    const before = sim.guestCalls().length;
    const other = await ctx.newOrg();
    const outsider = other.owner.inOrg(other.id);
    const execPath = `${base()}/ubuntu-base/exec/stream?${qs(['/bin/true'])}`;
    assert.equal(await refusedUpgrade(wsUrl(execPath), credentialHeaders(outsider)), 404);
    assert.equal(await refusedUpgrade(wsUrl(`${base()}/ubuntu-base/shell`), credentialHeaders(outsider)), 404);
    const member = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'member');
    assert.equal(await refusedUpgrade(wsUrl(execPath), credentialHeaders(member)), 403);
    assert.equal(await refusedUpgrade(wsUrl(`${base()}/ubuntu-base/shell`), credentialHeaders(member)), 403);
    const upload = await member.request(`${base()}/ubuntu-base/files?path=/tmp/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('x'),
    });
    assert.equal(upload.status, 403, upload.text);
    assert.equal(sim.guestCalls().length, before, 'nothing ran in the guest');
  });

  it('exec stream: closed when its user leaves the organization (4403)', async () => {
    const member = await ctx.addMember({ id: ctx.admin.personalOrgId, owner }, 'admin');
    const sock = await openSocket(
      ctx.hub,
      `${base()}/ubuntu-base/exec/stream?${qs(['/bin/sh', '-c', 'echo started; sleep 30'])}`,
      credentialHeaders(member),
      /started/,
    );
    const removed = await owner.request(`/v1/organizations/${ctx.admin.personalOrgId}/members/${member.user.id}`, {
      method: 'DELETE',
    });
    assert.ok(removed.status < 300, removed.text);
    const closed = await within(sock.closed, 10_000);
    assert.equal(closed?.code, 4403);
  });

  it('upload: the exact bytes land in the guest through the fixed script, path as its one argument', async () => {
    mkdirSync(sim.guestFile('ubuntu-base', '/home/ci'), { recursive: true });
    const data = randomBytes(MiB + 12_345);
    const res = await owner.request(
      `${base()}/ubuntu-base/files?path=${encodeURIComponent('/home/ci/blob $(x).bin')}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: data,
      },
    );
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body, { vm: 'ubuntu-base', path: '/home/ci/blob $(x).bin', size_bytes: data.length });
    assert.equal(sha256(readFileSync(sim.guestFile('ubuntu-base', '/home/ci/blob $(x).bin'))), sha256(data));
    const copy = sim.guestCalls().at(-1)!;
    assert.equal(copy.argv[0], 'exec');
    assert.deepEqual(copy.argv.slice(2), ['/bin/sh', '-c', 'cat > "$1"', 'sh', '/home/ci/blob $(x).bin']);
    assert.deepEqual(
      execFileSync('find', [join(node.stateDir, 'machine-uploads'), '-type', 'f'], { encoding: 'utf8' }),
      '',
      'the staging file is gone',
    );
  });

  it('upload: bad guest paths → 400 and no tool call; too large → 413; a missing directory → 502; wrong type → 415', async () => {
    const before = sim.guestCalls().length;
    const post = (path: string, body: Buffer = Buffer.from('x'), type = 'application/octet-stream') =>
      owner.request(`${base()}/ubuntu-base/files?path=${encodeURIComponent(path)}`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    for (const path of [
      'relative/x',
      '/a/../etc/passwd',
      '/..',
      '/a/./b',
      '/x\u0000y',
      '/dir/',
      '//etc',
      '/a\nb',
      `/${'a'.repeat(1100)}`,
    ]) {
      const res = await post(path);
      assert.equal(res.status, 400, `${JSON.stringify(path)}: ${res.text}`);
      // Control characters in a query string are refused by the hub's request checks before the route.
      assert.ok(['invalid_argument', 'invalid_text'].includes(res.body.code), res.text);
    }
    const badVm = await owner.request(`${base()}/${encodeURIComponent('a;b')}/files?path=/tmp/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('x'),
    });
    assert.equal(badVm.status, 400, badVm.text);
    assert.equal((await post('/tmp/x', Buffer.from('x'), 'text/plain')).status, 415);
    assert.equal(sim.guestCalls().length, before, 'no prlctl exec ran');
    const big = await post('/tmp/big', randomBytes(UPLOAD_LIMIT + 1));
    assert.equal(big.status, 413, big.text);
    const missing = await post('/no/such/dir/file', Buffer.from('x'));
    assert.equal(missing.status, 502, missing.text);
    assert.equal(missing.body.code, 'guest_write_failed');
    const stopped = await owner.request(`${base()}/powered-off/files?path=/tmp/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('x'),
    });
    assert.equal(stopped.status, 409, stopped.text);
  });

  it('guest tools: install is an operation with progress; the simulated prlctl records it', async () => {
    const res = await owner.request(`${base()}/ubuntu-base/tools/install`, { method: 'POST' });
    assert.equal(res.status, 202, res.text);
    const done = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.result.data.guest_tools.state, 'installed');
    assert.equal(done.progress.percent, 100);
    const id = sim.vmRecord('ubuntu-base').id as string;
    assert.ok(sim.guestCalls().some((c) => c.argv[0] === 'installtools' && c.argv[1] === id));
    assert.equal(sim.vmRecord('ubuntu-base').toolsInstalls, 1);
    const off = await owner.request(`${base()}/powered-off/tools/install`, { method: 'POST' });
    const failed = await waitForOperation(owner, off.body.id, 60_000);
    assert.equal(failed.status, 'failed');
    assert.match(JSON.stringify(failed.error), /machine_not_running/);
    const bad = await owner.request(`${base()}/${encodeURIComponent('$(id)')}/tools/install`, { method: 'POST' });
    assert.equal(bad.status, 400, bad.text);
  });

  it("node inventory: Parallels Desktop's host info and users (prlsrvctl info, user list)", async () => {
    const inv = await waitFor('the parallels inventory section', async () => {
      const res = await owner.request(`/v1/nodes/${node.id}/inventory`);
      return res.status === 200 && res.body.parallels ? res.body : undefined;
    });
    assert.equal(inv.parallels.version, 'Desktop 20.1.1-55740');
    assert.equal(inv.parallels.license.state, 'valid');
    assert.equal(inv.parallels.license.edition, 'Pro Edition');
    assert.equal(inv.parallels.users[0].name, 'ci@mac-mini-ci-01');
    assert.ok(!JSON.stringify(inv.parallels).includes('******'), 'never the license key');
  });

  it('shell: prlctl enter in a pty, keystrokes and output both ways, sized', async () => {
    const sh = await openSocket(ctx.hub, `${base()}/ubuntu-base/shell?cols=90&rows=20`, credentialHeaders(owner));
    sh.ws.send('stty size; echo shell-$((40+2)); pwd\n');
    await waitFor('echo', async () => (/shell-42/.test(sh.received()) ? true : undefined), 10_000);
    assert.match(sh.received(), /20 90/);
    assert.match(sh.received(), /ubuntu-base\.pvm\/guest/, 'the shell is in the guest');
    assert.ok(sim.guestCalls().some((c) => c.argv[0] === 'enter'));
    sh.ws.close();
    await sh.closed;
  });
});

describe('inside the guest through a replica that does not hold the agent', () => {
  let r: Replicas;
  let node: TestNode;
  const sim = new SimParallels();
  const base = () => `/v1/nodes/${node.id}/machines`;

  before(async () => {
    sim.prlctl('create', 'ubuntu-base', '-d', 'ubuntu');
    r = await Replicas.start(2);
    node = await registerNode(r.via(1), r.hubs[1]!.url, sim.env);
    node.start();
    await parallelsReady(node);
    assert.equal((await r.via(0).request('/v1/tunnel/stats')).body.connected_agents, 0, 'the agent is not on A');
    await startVm(r.via(0), node, 'ubuntu-base');
  });
  after(async () => {
    await node?.stop();
    await r?.close();
  });

  it('exec stream on replica A: live output and the exit code, relayed from B', async () => {
    const run = await execStream(r.wsUrl(0, `${base()}/ubuntu-base/exec/stream?${qs(SLOW)}`), r.headers);
    assert.equal(run.stdout, 'one\nthree\n');
    assert.equal(run.stderr, 'two\n');
    assert.equal(run.exit.exit_code, 7);
    const first = run.pieces.find((p) => p.text.includes('one'))!;
    assert.ok(run.exitAt - first.at >= 1500, 'live through the relay');
  });

  it('upload and shell on replica A', async () => {
    mkdirSync(sim.guestFile('ubuntu-base', '/srv'), { recursive: true });
    const data = randomBytes(700_000);
    const res = await r.via(0).request(`${base()}/ubuntu-base/files?path=/srv/data.bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(sha256(readFileSync(sim.guestFile('ubuntu-base', '/srv/data.bin'))), sha256(data));
    const sh = await openSocket(r.hubs[0]!.asTestHub(), `${base()}/ubuntu-base/shell`, r.headers);
    sh.ws.send('echo relayed-$((6*7))\n');
    await waitFor('echo', async () => (/relayed-42/.test(sh.received()) ? true : undefined), 10_000);
    sh.ws.close();
  });
});
