import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/** The agent's simulated illumos tools (a path, not an import: the hub never imports the agent). */
const SIM_BIN = join(__dirname, '../../../agent/test/sim-tools/bin');

function simCalls(state: string): { tool: string; argv: string[] }[] {
  return readFileSync(join(state, 'calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
    .filter((c) => c.tool !== 'pfexec');
}

const ZONE_WORKLOAD = {
  name: 'zone-echo',
  driver: 'zone',
  zone: { brand: 'lipkg', ram: '1G', vcpus: 1, vnics: [{ over: 'e1000g0', vlan_id: 20 }] },
  // Ignores SIGTERM: a stop waits the grace period, then halts the zone.
  startup: `trap '' TERM; echo "starting {{GREETING}}"; echo ready; while read -r line; do echo "got: $line"; done`,
  variables: [{ key: 'GREETING', name: 'Greeting', default: 'zone', type: 'string' }],
  resources: { cpu_cores: 0.5, memory_bytes: 256 * 1024 * 1024, disk_bytes: 0 },
  ready_pattern: '^ready',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

describe('zone instances end to end: hub → job → agent → zone driver → simulated illumos tools', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  const state = join(mkdtempSync(join(tmpdir(), 'hp-zsim-')), 's');

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, {
      PATH: `${SIM_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOSTPLANE_SIM_STATE: state,
      HOSTPLANE_AGENT_ZONE_ENABLED: 'on',
      HOSTPLANE_AGENT_ZONE_ZONEPATH_ROOT: join(state, 'zones'),
      HOSTPLANE_AGENT_ZONE_CONSOLE_LOG_DIR: join(state, 'var', 'log', 'zones'),
    });
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

  it('deploys a zone from a workload, answers through zlogin -C, stops with the grace then halts, and deletes the zone with its datasets and VNIC', async () => {
    const n = await node.node();
    assert.ok(
      n.drivers.some((d: { name: string; available: boolean }) => d.name === 'zone' && d.available),
      JSON.stringify(n.drivers),
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: ZONE_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const created = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'zone-1', workload_id: w.body.id, variables: { GREETING: 'illumos' } },
    });
    assert.equal(created.status, 202, created.text);
    const id: string = created.body.instance.id;
    const zone = `hp-${id}`;
    await waitFor(
      'running',
      async () => ((await owner.request(`/v1/instances/${id}`)).body.state === 'running' ? true : undefined),
      90_000,
      200,
    );

    const zonecfg = readFileSync(join(state, 'zones.json'), 'utf8');
    const config = (
      JSON.parse(zonecfg) as {
        zones: Record<string, { props: Record<string, string>; resources: Record<string, Record<string, string>[]> }>;
      }
    ).zones[zone];
    assert.equal(config.props.brand, 'lipkg');
    assert.deepEqual(config.resources['capped-memory'], [{ physical: '1G' }]);
    assert.equal(config.resources.net.length, 1);
    const vnic = config.resources.net[0].physical;
    assert.ok(
      simCalls(state).some((c) => c.tool === 'dladm' && c.argv.join(' ') === `create-vnic -l e1000g0 -v 20 ${vnic}`),
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
    assert.ok(
      simCalls(state).some((c) => c.tool === 'zlogin' && c.argv.join(' ') === `-C ${zone}`),
      'the console is zlogin -C',
    );
    const history = await owner.request(`/v1/instances/${id}/logs/history?lines=50`);
    assert.ok(
      history.body.lines.some((l: string) => l.includes('starting illumos')),
      history.text,
    );

    const t0 = Date.now();
    const stop = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    assert.equal((await waitForOperation(owner, stop.body.id, 60_000)).status, 'succeeded');
    assert.ok(Date.now() - t0 >= 2000, 'waited for the grace period');
    const stopped = (await owner.request(`/v1/instances/${id}`)).body;
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.state_reason, 'halted after a grace period of 2 s');
    const lifecycle = simCalls(state)
      .filter((c) => c.tool === 'zoneadm' && c.argv[0] === '-z' && c.argv[1] === zone)
      .map((c) => c.argv[2]);
    assert.deepEqual(lifecycle.slice(-2), ['shutdown', 'halt']);

    const del = await owner.request(`/v1/instances/${id}`, { method: 'DELETE' });
    assert.equal((await waitForOperation(owner, del.body.id, 60_000)).status, 'succeeded');
    await waitFor('row gone', async () =>
      (await owner.request(`/v1/instances/${id}`)).status === 404 ? true : undefined,
    );
    const after = simCalls(state)
      .filter((c) => c.argv.includes(zone) || c.argv.includes(vnic))
      .map((c) => `${c.tool} ${c.argv.join(' ')}`);
    assert.ok(
      after.includes(`zoneadm -z ${zone} uninstall -F`) &&
        after.includes(`zonecfg -z ${zone} delete -F`) &&
        after.includes(`dladm delete-vnic ${vnic}`),
      after.join('\n'),
    );
    const zfs = JSON.parse(readFileSync(join(state, 'zfs.json'), 'utf8')) as { datasets: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(zfs.datasets).filter((d) => d.includes(zone)),
      [],
      'the zone datasets are gone',
    );
    assert.equal(
      (JSON.parse(readFileSync(join(state, 'zones.json'), 'utf8')) as { zones: Record<string, unknown> }).zones[zone],
      undefined,
    );
  });
});
