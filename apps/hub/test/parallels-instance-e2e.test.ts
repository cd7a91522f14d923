import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/** The agent's simulated Parallels tools (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');

function simCalls(state: string): { tool: string; argv: string[] }[] {
  return readFileSync(join(state, 'calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; argv: string[] });
}

function simVms(state: string): { id: string; name: string; state: string; cpus: number; memoryMb: number }[] {
  const doc = JSON.parse(readFileSync(join(state, 'parallels.json'), 'utf8')) as {
    vms: Record<string, { id: string; name: string; state: string; cpus: number; memoryMb: number }>;
  };
  return Object.values(doc.vms);
}

const VM_WORKLOAD = {
  name: 'vm-echo',
  driver: 'parallels',
  parallels: { source: { vm: 'ubuntu-base', linked: true }, cpus: 2, memory_mb: 3072 },
  // Ignores SIGTERM: a stop waits the grace period of the guest's shutdown, then powers the VM off.
  startup: `trap '' TERM; echo "starting {{GREETING}}"; echo ready; while read -r line; do echo "got: $line"; done`,
  variables: [{ key: 'GREETING', name: 'Greeting', default: 'vm', type: 'string' }],
  resources: { cpu_cores: 1, memory_bytes: 512 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

describe('parallels instances end to end: hub → job → agent → parallels driver → simulated prlctl', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-prlsim-')), 's');
  const env = {
    PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOSTPLANE_SIM_STATE: state,
    HOSTPLANE_AGENT_PARALLELS_ENABLED: 'on',
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
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('refuses a catalog image with 400 catalog_unavailable and a source VM name that is an option, with no tool call', async () => {
    const before = simCalls(state).length;
    const catalog = await owner.request('/v1/workloads', {
      method: 'POST',
      json: { ...VM_WORKLOAD, name: 'vm-catalog', parallels: { source: { catalog: { id: 'ubuntu-22.04' } } } },
    });
    assert.equal(catalog.status, 400, catalog.text);
    assert.equal(catalog.body.code, 'catalog_unavailable');
    for (const vm of ['--template', 'base;reboot', '$(id)', '../x']) {
      const bad = await owner.request('/v1/workloads', {
        method: 'POST',
        json: { ...VM_WORKLOAD, name: 'vm-bad', parallels: { source: { vm } } },
      });
      assert.equal(bad.status, 400, `${vm}: ${bad.text}`);
    }
    assert.equal(
      simCalls(state)
        .slice(before)
        // The agent reads its host and VMs by itself (inventory, events): only actions count.
        .filter((c) => c.tool === 'prlctl' && !['list', 'snapshot-list', 'monitor-events'].includes(c.argv[0]!)).length,
      0,
      'nothing but the agent’s own inventory and availability reads ran',
    );
  });

  it('deploys a clone of a VM from a workload, answers on the console, stops with the grace then --kill, and deletes the VM', async () => {
    const n = await node.node();
    assert.ok(
      n.drivers.some(
        (d: { name: string; available: boolean; version: string | null }) =>
          d.name === 'parallels' && d.available && d.version === 'Desktop 20.1.1-55740',
      ),
      JSON.stringify(n.drivers),
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: VM_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'vm-1', workload_id: w.body.id, variables: { GREETING: 'parallels' } },
    });
    assert.equal(created.status, 202, created.text);
    const id: string = created.body.instance.id;
    const vmName = `hp-${id}`;
    await waitFor(
      'running',
      async () => ((await owner.request(`/v1/instances/${id}`)).body.state === 'running' ? true : undefined),
      90_000,
      200,
    );
    const vm = simVms(state).find((v) => v.name === vmName);
    assert.ok(vm, 'the clone exists');
    assert.deepEqual([vm.state, vm.cpus, vm.memoryMb], ['running', 2, 3072]);
    assert.ok(
      simCalls(state).some(
        (c) => c.tool === 'prlctl' && c.argv.join(' ') === `clone ubuntu-base --name ${vmName} --linked`,
      ),
    );

    const auth = { headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! } };
    const consoleWs = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/instances/${id}/console`, auth);
    let out = '';
    consoleWs.on('message', (d: Buffer) => (out += d.toString()));
    await new Promise((r, j) => (consoleWs.once('open', r), consoleWs.once('error', j)));
    await new Promise((r) => setTimeout(r, 500));
    consoleWs.send('ping-42\n');
    await waitFor('console answer', async () => (out.includes('got: ping-42') ? true : undefined), 20_000);
    consoleWs.close();
    const history = await owner.request(`/v1/instances/${id}/logs/history?lines=50`);
    assert.ok(
      history.body.lines.some((l: string) => l.includes('starting parallels')),
      history.text,
    );

    const t0 = Date.now();
    const stop = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    assert.equal((await waitForOperation(owner, stop.body.id, 60_000)).status, 'succeeded');
    assert.ok(Date.now() - t0 >= 2000, 'waited for the grace period');
    const stopped = (await owner.request(`/v1/instances/${id}`)).body;
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.state_reason, 'stopped with --kill after a grace period of 2 s');
    const lifecycle = simCalls(state)
      .filter((c) => c.tool === 'prlctl' && c.argv[0] === 'stop' && c.argv[1] === vmName)
      .map((c) => c.argv.slice(2).join(' '));
    assert.deepEqual(lifecycle.slice(-2), ['', '--kill']);

    const del = await owner.request(`/v1/instances/${id}`, { method: 'DELETE' });
    assert.equal((await waitForOperation(owner, del.body.id, 60_000)).status, 'succeeded');
    await waitFor('row gone', async () =>
      (await owner.request(`/v1/instances/${id}`)).status === 404 ? true : undefined,
    );
    assert.equal(
      simVms(state).find((v) => v.name === vmName),
      undefined,
      'the VM is deleted',
    );
    assert.ok(simCalls(state).some((c) => c.tool === 'prlctl' && c.argv.join(' ') === `delete ${vmName}`));
  });
});
