import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { readStream } from './support/event-stream-reader';
import { Client, IdentityContext } from './support/identity';

/** The agent's simulated Parallels tools (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');

describe('machines API end to end: hub → job → agent → simulated prlctl', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-prlapi-')), 's');
  const env = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
  };
  /** The prlctl calls that act on VMs (reads and the test's own set-up left out). */
  const actions = () =>
    readFileSync(join(state, 'calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
      .filter((c) => c.tool === 'prlctl' && c.argv[0] !== 'list' && c.argv[0] !== 'create');
  const base = () => `/v1/nodes/${node.id}/machines`;

  /** Queues a write, waits for it, and answers its result's data. */
  async function run(path: string, json?: unknown, method = 'POST'): Promise<any> {
    const res = await owner.request(path, { method, ...(json === undefined ? {} : { json }) });
    assert.equal(res.status, 202, `${path}: ${res.text}`);
    assert.equal(res.headers.get('location'), `/v1/operations/${res.body.id}`);
    const done = await waitForOperation(owner, res.body.id, 60_000);
    assert.equal(done.status, 'succeeded', `${path}: ${JSON.stringify(done)}`);
    return done.result.data;
  }
  const get = async (path: string) => {
    const res = await owner.request(path);
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    return res.body.data;
  };

  before(async () => {
    execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'ubuntu-base', '-d', 'ubuntu'], {
      env: { ...process.env, ...env },
    });
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, env);
    node.start();
    await node.waitStatus('online');
    await waitFor('the parallels driver', async () =>
      (await node.node()).drivers.some(
        (d: { name: string; available: boolean }) => d.name === 'parallels' && d.available,
      )
        ? true
        : undefined,
    );
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('lists and reads VMs and the Parallels host (prlsrvctl info and users)', async () => {
    const list = await get(base());
    assert.deepEqual(
      list.map((m: { name: string }) => m.name),
      ['ubuntu-base'],
    );
    const vm = await get(`${base()}/ubuntu-base`);
    assert.equal(vm.state, 'stopped');
    assert.equal(vm.cpus, 2);
    assert.deepEqual(await get(`${base()}/${vm.id}/status`), {
      id: vm.id,
      name: 'ubuntu-base',
      state: 'stopped',
      ip_addresses: [],
    });
    const host = await get(`${base()}/host`);
    assert.equal(host.info.version, 'Desktop 20.1.1-55740');
    assert.equal(host.info.license.state, 'valid');
    assert.equal(host.users[0].name, 'ci@mac-mini-ci-01');
    const missing = await owner.request(`${base()}/no-such-vm`);
    assert.equal(missing.status, 404, missing.text);
  });

  it('runs every lifecycle operation as an operation: start, suspend, resume, pause, reset, restart, stop --kill, stop --drop-state', async () => {
    const vm = 'ubuntu-base';
    assert.equal((await run(`${base()}/${vm}/start`)).state, 'running');
    assert.equal((await get(`${base()}/${vm}/status`)).ip_addresses.length, 1, 'a running VM has an address');
    assert.equal((await run(`${base()}/${vm}/suspend`)).state, 'suspended');
    assert.equal((await run(`${base()}/${vm}/resume`)).state, 'running');
    assert.equal((await run(`${base()}/${vm}/pause`)).state, 'paused');
    assert.equal((await run(`${base()}/${vm}/resume`)).state, 'running');
    assert.equal((await run(`${base()}/${vm}/reset`)).state, 'running');
    assert.equal((await run(`${base()}/${vm}/restart`)).state, 'running');
    assert.equal((await run(`${base()}/${vm}/stop`, { kill: true })).state, 'stopped');
    await run(`${base()}/${vm}/start`);
    assert.equal((await run(`${base()}/${vm}/stop`, {})).state, 'stopped', 'an ACPI shutdown');
    await run(`${base()}/${vm}/start`);
    await run(`${base()}/${vm}/suspend`);
    assert.equal((await run(`${base()}/${vm}/stop`, { drop_state: true })).state, 'stopped');
    const verbs = actions()
      .filter((c) => c.argv[1] === vm)
      .map((c) => [c.argv[0], ...c.argv.slice(2)].join(' '));
    assert.deepEqual(verbs, [
      'start',
      'suspend',
      'resume',
      'pause',
      'resume',
      'reset',
      'restart',
      'stop --kill',
      'start',
      'stop',
      'start',
      'suspend',
      'stop --drop-state',
    ]);
  });

  it('configures, renames, clones (full and linked), unregisters, registers and deletes', async () => {
    const set = await run(`${base()}/ubuntu-base/set`, {
      cpus: 4,
      memory_mb: 4096,
      description: 'CI template',
      boot_order: 'hdd0 net0',
    });
    assert.deepEqual(
      [set.cpus, set.memory_bytes, set.description, set.boot_order],
      [4, 4096 * 2 ** 20, 'CI template', 'hdd0 net0'],
    );
    const full = await run(`${base()}/ubuntu-base/clone`, { name: 'ci-full' });
    const linked = await run(`${base()}/ubuntu-base/clone`, { name: 'ci linked', linked: true });
    assert.equal(full.cpus, 4, 'a clone has its source hardware');
    assert.ok(actions().some((c) => c.argv.join(' ') === 'clone ubuntu-base --name ci linked --linked'));
    const renamed = await run(`${base()}/${full.id}/rename`, { name: 'ci-renamed' });
    assert.equal(renamed.name, 'ci-renamed');
    const unregistered = await run(`${base()}/ci-renamed/unregister`);
    assert.equal(unregistered.id, full.id);
    assert.equal((await owner.request(`${base()}/ci-renamed`)).status, 404);
    const registered = await run(`${base()}/register`, { path: unregistered.home.replace(/\/$/, '') });
    assert.equal(registered.id, full.id, 'the bundle keeps its UUID');
    await run(`${base()}/ci-renamed`, undefined, 'DELETE');
    await run(`${base()}/${linked.id}`, undefined, 'DELETE');
    assert.deepEqual(
      (await get(base())).map((m: { name: string }) => m.name),
      ['ubuntu-base'],
    );
  });

  it('runs a command in the guest in argv form and answers its exit code and output', async () => {
    await run(`${base()}/ubuntu-base/start`);
    const result = await run(`${base()}/ubuntu-base/exec`, {
      argv: ['/bin/sh', '-c', 'echo "out $1"; echo err >&2; exit 7', 'sh', 'a; rm -rf / $(id)'],
    });
    assert.equal(result.exit_code, 7);
    assert.equal(result.stdout, 'out a; rm -rf / $(id)\n', 'an argument stays one argument');
    assert.match(result.stderr, /err/);
    await run(`${base()}/ubuntu-base/stop`, { kill: true });
  });

  it('takes snapshots, lists them as a tree, switches to one and deletes one', async () => {
    const first = await run(`${base()}/ubuntu-base/snapshots`, { name: 'clean', description: 'fresh install' });
    const second = await run(`${base()}/ubuntu-base/snapshots`, { name: 'tools' });
    const listed = await get(`${base()}/ubuntu-base/snapshots`);
    assert.equal(listed.snapshots.length, 2);
    assert.equal(listed.tree.length, 1);
    assert.equal(listed.tree[0].id, first.id);
    assert.equal(listed.tree[0].children[0].id, second.id);
    assert.equal(listed.snapshots.find((s: { current: boolean }) => s.current).id, second.id);
    await run(`${base()}/ubuntu-base/snapshots/${first.id}/switch`, {});
    assert.equal(
      (await get(`${base()}/ubuntu-base/snapshots`)).snapshots.find((s: { current: boolean }) => s.current).id,
      first.id,
    );
    await run(`${base()}/ubuntu-base/snapshots/${second.id}`, undefined, 'DELETE');
    assert.deepEqual(
      (await get(`${base()}/ubuntu-base/snapshots`)).snapshots.map((s: { id: string }) => s.id),
      [first.id],
    );
  });

  it('refuses injection in VM names, new names, snapshot ids, set values and exec arguments with 400 and no prlctl call', async () => {
    const before = actions().length;
    const cases: [string, string, unknown][] = [
      ['POST', `${base()}/${encodeURIComponent('--all')}/start`, undefined],
      ['POST', `${base()}/${encodeURIComponent('vm;reboot')}/start`, undefined],
      ['GET', `${base()}/${encodeURIComponent('$(id)')}`, undefined],
      ['POST', `${base()}/ubuntu-base/stop`, { kill: 'yes' }],
      ['POST', `${base()}/ubuntu-base/rename`, { name: '--template' }],
      ['POST', `${base()}/ubuntu-base/clone`, { name: 'a`id`' }],
      ['POST', `${base()}/ubuntu-base/set`, { description: '--name evil' }],
      ['POST', `${base()}/ubuntu-base/set`, { boot_order: 'hdd0; reboot' }],
      ['POST', `${base()}/ubuntu-base/exec`, { argv: ['--current-user', 'id'] }],
      ['POST', `${base()}/ubuntu-base/exec`, { argv: [] }],
      ['POST', `${base()}/ubuntu-base/snapshots`, { name: '-n' }],
      ['POST', `${base()}/ubuntu-base/snapshots/${encodeURIComponent('x --skip-resume')}/switch`, {}],
      ['DELETE', `${base()}/ubuntu-base/snapshots/not-a-uuid`, undefined],
      ['POST', `${base()}/register`, { path: '/Users/ci/../../etc' }],
    ];
    for (const [method, path, json] of cases) {
      const res = await owner.request(path, { method, ...(json === undefined ? {} : { json }) });
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(json)}: ${res.text}`);
      assert.ok(res.body.code, res.text);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(actions().length, before, 'no prlctl call');
  });

  it('finds VMs across hosts for the organization only, and acts on one by name', async () => {
    const all = await owner.request('/v1/machines');
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.body.unreachable, []);
    assert.equal(all.body.data[0].node_id, node.id);
    assert.equal(all.body.data[0].name, 'ubuntu-base');
    const started = await owner.request('/v1/machines/ubuntu-base/start', { method: 'POST' });
    assert.equal(started.status, 202, started.text);
    assert.equal((await waitForOperation(owner, started.body.id, 60_000)).result.data.state, 'running');
    const killed = await owner.request('/v1/machines/ubuntu-base/stop', { method: 'POST', json: { kill: true } });
    assert.equal((await waitForOperation(owner, killed.body.id, 60_000)).status, 'succeeded');

    const other = await ctx.newOrg();
    const theirs = await other.owner.request('/v1/machines');
    assert.equal(theirs.status, 200);
    assert.deepEqual(theirs.body.data, [], "another organization sees none of this org's VMs");
    assert.equal((await other.owner.request('/v1/machines/ubuntu-base')).status, 404);
    assert.equal((await other.owner.request(`${base()}`)).status, 404, "another org cannot reach this org's node");
  });

  it('publishes monitor events on the org event stream (state with previous/current, added, snapshots, removed) and to no other org', async () => {
    const other = await ctx.newOrg();
    const url = `${ctx.hub.url}/v1/events/stream?events=machine.*`;
    const ours = readStream(url, owner.accessToken, { stopAfter: 5, timeoutMs: 60_000 });
    const theirs = readStream(url, other.owner.accessToken, { stopAfter: 1, timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await run(`${base()}/ubuntu-base/start`);
    await run(`${base()}/ubuntu-base/snapshots`, { name: 'evt' });
    await run(`${base()}/ubuntu-base/stop`, { kill: true });
    const clone = await run(`${base()}/ubuntu-base/clone`, { name: 'evt-clone' });
    await run(`${base()}/evt-clone`, undefined, 'DELETE');
    const got = await ours;
    assert.deepEqual(
      got.map((e) => e.type),
      [
        'machine.state_changed',
        'machine.snapshots_changed',
        'machine.state_changed',
        'machine.added',
        'machine.removed',
      ],
    );
    assert.deepEqual(
      [got[0].data.vm_name, got[0].data.previous, got[0].data.current, got[0].data.node_id],
      ['ubuntu-base', 'stopped', 'running', node.id],
    );
    assert.deepEqual([got[2].data.previous, got[2].data.current], ['running', 'stopped']);
    assert.equal(got[3].data.vm_id, clone.id);
    assert.deepEqual([got[4].data.vm_id, got[4].data.vm_name], [clone.id, 'evt-clone']);
    assert.deepEqual(await theirs, [], "another organization's subscriber sees none of them");
  });

  it('follows monitor-events again when the monitor dies', async () => {
    const monitors = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((pid) => {
          try {
            return (
              readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('monitor-events') &&
              readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`HOSTPLANE_SIM_STATE=${state}`)
            );
          } catch {
            return false;
          }
        });
    assert.ok(existsSync('/proc/self/environ'));
    const [first] = monitors();
    assert.ok(first, 'a monitor runs');
    process.kill(Number(first), 'SIGKILL');
    await waitFor('a new monitor', async () => (monitors().some((pid) => pid !== first) ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 500));
    const events = readStream(`${ctx.hub.url}/v1/events/stream?events=machine.state_changed`, owner.accessToken, {
      stopAfter: 1,
      timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    await run(`${base()}/ubuntu-base/start`);
    const [changed] = await events;
    assert.deepEqual([changed?.data.previous, changed?.data.current], ['stopped', 'running']);
    await run(`${base()}/ubuntu-base/stop`, { kill: true });
  });

  it('needs machines.* permissions: a member reads nothing and runs nothing', async () => {
    const member = await ctx.addMember({ id: owner.defaultOrg!, owner }, 'member');
    assert.equal((await member.request(base())).status, 403);
    assert.equal((await member.request(`${base()}/ubuntu-base/start`, { method: 'POST' })).status, 403);
    assert.equal(
      (await member.request(`${base()}/ubuntu-base/exec`, { method: 'POST', json: { argv: ['id'] } })).status,
      403,
    );
  });
});
