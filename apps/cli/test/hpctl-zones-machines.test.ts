import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client, IdentityContext } from '../../hub/test/support/identity';
import type { TestNode } from '../../hub/test/support/agents';
import type { SimIllumosHost } from '../../hub/test/support/sim-zones';
import type * as NodePty from 'node-pty';
import { cliHome, hpctl, HPCTL, hubAgents, hubIdentity, hubSimZones, SIM_BIN, spawnHpctl } from './support/hpctl';

interface Zone {
  name: string;
  state: string;
  brand: string;
  zonepath: string;
  config?: unknown;
}
interface Machine {
  id: string;
  name: string;
  state: string;
  node_id?: string;
}

/**
 * One real agent with both the zone and the parallels drivers on, its illumos and Parallels tools
 * simulated (stateful, real flags and output shapes) in one state directory.
 */
describe('hpctl zones and machines against a real hub and agent (simulated illumos and Parallels tools)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let host: SimIllumosHost;
  let env: Record<string, string>;

  const json = <T>(stdout: string) => JSON.parse(stdout) as T;
  const ok = (res: { code: number; stdout: string; stderr: string }) =>
    assert.equal(res.code, 0, `exit ${res.code}\n${res.stderr}\n${res.stdout}`);
  const prlctlCalls = () => host.calls().filter((c) => c.startsWith('prlctl ') && !/^prlctl (list|create)/.test(c));

  before(async () => {
    host = new hubSimZones.SimIllumosHost();
    const agentEnv = { ...host.agentEnv, HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on' };
    // Made by hand before the agent starts, so its first inventory has them.
    await host.bootZone('web', 'ipkg');
    await host.bootZone('base', 'ipkg');
    await host.haltZone('base');
    execFileSync(join(SIM_BIN, 'prlctl'), ['create', 'ubuntu-base', '-d', 'ubuntu'], {
      env: { ...process.env, ...agentEnv },
    });
    ctx = await hubIdentity.IdentityContext.start({ env: hubAgents.FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await hubAgents.registerNode(owner, ctx.hub.url, agentEnv);
    node.start();
    await node.waitStatus('online', 60_000);
    await hubAgents.waitFor(
      'the zone inventory and the parallels driver',
      async () => {
        const zones = await owner.request(`/v1/nodes/${node.id}/zones`);
        const n = await node.node();
        return zones.status === 200 &&
          n.drivers.some((d: { name: string; available: boolean }) => d.name === 'parallels' && d.available)
          ? true
          : undefined;
      },
      60_000,
    );
    env = cliHome({
      HOSTPLANE_URL: ctx.hub.url,
      HOSTPLANE_TOKEN: owner.credential.bearer!,
      HOSTPLANE_ORG: ctx.admin.personalOrgId,
    });
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('lists zones from the inventory and live, and reads one with its configuration', async () => {
    const list = await hpctl(['zones', 'list', '--node', node.id, '-o', 'json'], env);
    ok(list);
    const zones = json<Zone[]>(list.stdout);
    assert.deepEqual(zones.map((z) => [z.name, z.state]).sort(), [
      ['base', 'installed'],
      ['web', 'running'],
    ]);
    const table = await hpctl(['zones', 'list', '--node', node.id, '--live'], env);
    ok(table);
    assert.match(table.stdout, /^NAME\s+STATE\s+BRAND/);
    assert.match(table.stdout, /^web\s+running\s+ipkg/m);
    const web = await hpctl(['zones', 'get', 'web', '--node', node.id, '--live', '-o', 'json'], env);
    ok(web);
    const zone = json<Zone>(web.stdout);
    assert.equal(zone.zonepath, host.zonepath('web'));
    assert.ok(zone.config, 'live: the whole configuration');
  });

  it('creates a zone as a clone, boots, halts, restarts and deletes it with --wait and plain progress lines', async () => {
    const created = await hpctl(
      ['zones', 'create', 'web2', '--from', 'base', '--node', node.id, '--wait', '-o', 'json'],
      env,
    );
    ok(created);
    assert.match(created.stderr, /^create: 100% succeeded$/m);
    const zone = json<Zone>(created.stdout);
    assert.deepEqual([zone.name, zone.state], ['web2', 'installed']);
    assert.equal(zone.zonepath, host.zonepath('web2'), "beside the source's zonepath");
    assert.ok(host.calls().includes('zoneadm -z web2 clone base'));

    const started = await hpctl(['zones', 'start', 'web2', '--node', node.id, '--wait', '-o', 'json'], env);
    ok(started);
    assert.equal(json<Zone>(started.stdout).state, 'running');
    const restarted = await hpctl(['zones', 'restart', 'web2', '--node', node.id, '--wait', '-o', 'yaml'], env);
    ok(restarted);
    assert.match(restarted.stdout, /^state: running$/m);
    const halted = await hpctl(['zones', 'halt', 'web2', '--node', node.id, '--wait', '-o', 'json'], env);
    ok(halted);
    assert.equal(json<Zone>(halted.stdout).state, 'installed');
    assert.ok(host.calls().includes('zoneadm -z web2 reboot'));

    // Without --wait: the accepted operation, to wait for later.
    const queued = await hpctl(['zones', 'delete', 'web2', '--node', node.id, '-o', 'json'], env);
    ok(queued);
    const op = json<{ id: string; kind: string }>(queued.stdout);
    const waited = await hpctl(['operations', 'wait', op.id, '-o', 'json'], env);
    ok(waited);
    assert.equal(json<{ status: string }>(waited.stdout).status, 'succeeded');
    const gone = await hpctl(['zones', 'get', 'web2', '--node', node.id, '--live'], env);
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /host_resource_not_found/);
  });

  it('exits 1 when the operation fails on the host, 2 on usage, 3 for a missing node', async () => {
    // Cloning a running zone: zoneadm refuses, the operation fails.
    const failed = await hpctl(['zones', 'create', 'web3', '--from', 'web', '--node', node.id, '--wait'], env);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /error: operation \S+ failed: .*must be installed/);
    const noNode = await hpctl(['zones', 'list'], env);
    assert.equal(noNode.code, 2, 'no --node');
    assert.match(noNode.stderr, /--node/);
    const missingNode = await hpctl(['zones', 'list', '--node', '00000000-0000-4000-8000-000000000000'], env);
    assert.equal(missingNode.code, 3, missingNode.stderr);
    const injected = await hpctl(['zones', 'start', 'x;id', '--node', node.id], env);
    assert.equal(injected.code, 1, injected.stderr);
    assert.match(injected.stderr, /invalid_argument/);
  });

  it('round-trips the zone console (zlogin -C) through a pipe; a missing zone exits 3, a halted one 4', async () => {
    const child = spawnHpctl(['zones', 'console', 'web', '--node', node.id], env);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
    await hubAgents.waitFor('the console', async () =>
      /Connected to zone 'web' console/.test(out) ? true : undefined,
    );
    child.stdin!.write('operator\r');
    await hubAgents.waitFor('the echo and a new prompt', async () =>
      /operator[\s\S]*web console login: /.test(out) ? true : undefined,
    );
    child.stdin!.end();
    assert.equal(await exited, 0);

    const missing = await hpctl(['zones', 'console', 'nosuch', '--node', node.id], env);
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /zone_not_found/);
    const halted = await hpctl(['zones', 'console', 'base', '--node', node.id], env);
    assert.equal(halted.code, 4, halted.stderr);
    assert.match(halted.stderr, /zone_not_running/);
  });

  it('opens a shell in the zone through a pty (zlogin): runs in the zone root, the window size reaches it, `exit 3` ends hpctl with 3', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pty = require('node-pty') as typeof NodePty;
    const term = pty.spawn(process.execPath, [HPCTL, 'zones', 'console', 'web', '--node', node.id, '--shell'], {
      cols: 100,
      rows: 30,
      env,
    });
    let seen = '';
    term.onData((d) => (seen += d));
    const exited = new Promise<number>((r) => term.onExit((e) => r(e.exitCode)));
    term.write('stty size; pwd; echo shell-$((6*7))\r');
    await hubAgents.waitFor('the shell', async () => (seen.includes('shell-42') ? true : undefined), 20_000);
    assert.match(seen, /30 100/);
    assert.ok(seen.includes(`${host.zonepath('web')}/root`), 'the shell runs in the zone root');
    // The zone shell's socket closes with `exit N`, as the node terminal's does: hpctl exits with it.
    term.write('exit 3\r');
    assert.equal(await exited, 3, seen);
  });

  it('lists VMs across nodes and of one node, reads one, and runs the lifecycle with --wait', async () => {
    const all = await hpctl(['machines', 'list', '-o', 'json'], env);
    ok(all);
    const vms = json<Machine[]>(all.stdout);
    assert.deepEqual(
      vms.map((m) => [m.name, m.state, m.node_id]),
      [['ubuntu-base', 'stopped', node.id]],
    );
    const perNode = await hpctl(['machines', 'list', '--node', node.id], env);
    ok(perNode);
    assert.match(perNode.stdout, /^ID\s+NAME\s+STATE/);
    assert.match(perNode.stdout, /ubuntu-base\s+stopped/);
    const one = await hpctl(['machines', 'get', 'ubuntu-base', '-o', 'json'], env);
    ok(one);
    assert.equal(json<Machine>(one.stdout).id, vms[0].id);

    const started = await hpctl(['machines', 'start', 'ubuntu-base', '--wait', '-o', 'json'], env);
    ok(started);
    assert.match(started.stderr, /^start: 100% succeeded$/m);
    assert.equal(json<Machine>(started.stdout).state, 'running');
    for (const [action, state] of [
      ['suspend', 'suspended'],
      ['resume', 'running'],
      ['restart', 'running'],
    ]) {
      const res = await hpctl(['machines', action, 'ubuntu-base', '--node', node.id, '--wait', '-o', 'json'], env);
      ok(res);
      assert.equal(json<Machine>(res.stdout).state, state, action);
    }
    const killed = await hpctl(['machines', 'stop', 'ubuntu-base', '--kill', '--wait', '-o', 'json'], env);
    ok(killed);
    assert.equal(json<Machine>(killed.stdout).state, 'stopped');
    assert.deepEqual(
      prlctlCalls()
        .map((c) => c.split(' '))
        // Across nodes the hub names the VM by its UUID; with --node as given.
        .filter((c) => c[2] === 'ubuntu-base' || c[2] === vms[0].id)
        .map((c) => [c[1], ...c.slice(3)].join(' ')),
      ['start', 'suspend', 'resume', 'restart', 'stop --kill'],
    );
    const missing = await hpctl(['machines', 'get', 'no-such-vm'], env);
    assert.equal(missing.code, 3, missing.stderr);
  });

  it('clones (linked) and deletes a VM; exec prints the guest output and exits with its code', async () => {
    const clone = await hpctl(['machines', 'clone', 'ubuntu-base', 'ci-1', '--linked', '--wait', '-o', 'json'], env);
    ok(clone);
    assert.equal(json<Machine>(clone.stdout).name, 'ci-1');
    assert.ok(
      prlctlCalls().some((c) => /^prlctl clone (ubuntu-base|\S+-\S+) --name ci-1 --linked$/.test(c)),
      prlctlCalls().join('\n'),
    );
    ok(await hpctl(['machines', 'start', 'ci-1', '--wait'], env));

    const exec = await hpctl(
      ['machines', 'exec', 'ci-1', '--', '/bin/sh', '-c', 'echo "out $1"; echo err >&2; exit 3', 'sh', 'a; $(id)'],
      env,
    );
    assert.equal(exec.code, 3, exec.stderr);
    assert.equal(exec.stdout, 'out a; $(id)\n');
    assert.match(exec.stderr, /err/);
    const asJson = await hpctl(['machines', 'exec', 'ci-1', '--node', node.id, '-o', 'json', '--', 'uname'], env);
    ok(asJson);
    assert.equal(json<{ exit_code: number }>(asJson.stdout).exit_code, 0);

    const running = await hpctl(['machines', 'delete', 'ci-1', '--wait'], env);
    assert.equal(running.code, 1, 'a running VM is not deleted');
    ok(await hpctl(['machines', 'stop', 'ci-1', '--kill', '--wait'], env));
    const deleted = await hpctl(['machines', 'delete', 'ci-1', '--wait', '-o', 'json'], env);
    ok(deleted);
    const list = json<Machine[]>((await hpctl(['machines', 'list', '-o', 'json'], env)).stdout);
    assert.deepEqual(
      list.map((m) => m.name),
      ['ubuntu-base'],
    );
  });

  it('takes, lists, switches to and deletes snapshots by name', async () => {
    const first = await hpctl(['machines', 'snapshots', 'create', 'ubuntu-base', 'clean', '--wait', '-o', 'json'], env);
    ok(first);
    const firstId = json<{ id: string }>(first.stdout).id;
    ok(
      await hpctl(
        ['machines', 'snapshots', 'create', 'ubuntu-base', 'tools', '--description', 'with tools', '--wait'],
        env,
      ),
    );
    const table = await hpctl(['machines', 'snapshots', 'list', 'ubuntu-base'], env);
    ok(table);
    assert.match(table.stdout, /^ID\s+NAME\s+DATE\s+CURRENT/);
    assert.match(table.stdout, /tools\s+[\d-]+ [\d:]+\s+\*/);
    const tree = json<{ snapshots: { id: string; current: boolean }[]; tree: { id: string }[] }>(
      (await hpctl(['machines', 'snapshots', 'list', 'ubuntu-base', '-o', 'json'], env)).stdout,
    );
    assert.equal(tree.snapshots.length, 2);
    assert.equal(tree.tree[0].id, firstId);

    ok(await hpctl(['machines', 'snapshots', 'switch', 'ubuntu-base', 'clean', '--wait'], env));
    const afterSwitch = json<{ snapshots: { id: string; current: boolean }[] }>(
      (await hpctl(['machines', 'snapshots', 'list', 'ubuntu-base', '--node', node.id, '-o', 'json'], env)).stdout,
    );
    assert.equal(afterSwitch.snapshots.find((x) => x.current)?.id, firstId);
    ok(await hpctl(['machines', 'snapshots', 'delete', 'ubuntu-base', 'tools', '--wait'], env));
    const left = json<{ snapshots: { name: string }[] }>(
      (await hpctl(['machines', 'snapshots', 'list', 'ubuntu-base', '-o', 'json'], env)).stdout,
    );
    assert.deepEqual(
      left.snapshots.map((x) => x.name),
      ['clean'],
    );
    const unknown = await hpctl(['machines', 'snapshots', 'delete', 'ubuntu-base', 'no-such-snapshot'], env);
    assert.equal(unknown.code, 1, 'not a snapshot name nor a UUID: 400 invalid_argument');
    assert.match(unknown.stderr, /invalid_argument/);
  });

  it('completion scripts know the new commands', async () => {
    const bash = await hpctl(['completion', 'bash'], env);
    ok(bash);
    assert.match(bash.stdout, /"zones"\) words="list get create start stop halt restart delete console/);
    assert.match(bash.stdout, /"machines snapshots"\) words="list create delete switch/);
  });
});
