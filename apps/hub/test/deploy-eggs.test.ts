import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';

/** Verbatim copies of published Pterodactyl eggs (sources and licences in fixtures/eggs/SOURCES.md). */
const EGGS_DIR = join(__dirname, '../../test/fixtures/eggs');
const egg = (file: string) => JSON.parse(readFileSync(join(EGGS_DIR, file), 'utf8')) as Record<string, unknown>;
const BASE = 21_000 + Math.floor(Math.random() * 400) * 20;

describe('every fixture egg deploys with its defaults (real agent with dockerd, no internet)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;

  const pool = async () =>
    new Set(
      ((await owner.request(`/v1/nodes/${node.id}/allocations?limit=500`)).body.data as { port: number }[]).map(
        (a) => a.port,
      ),
    );
  const finalDeployment = (id: string) =>
    waitFor(
      `deployment ${id} to finish`,
      async () => {
        const d = await owner.request(`/v1/deploy/${id}`);
        return ['running', 'installed', 'failed'].includes(d.body.status) ? d.body : undefined;
      },
      60_000,
    );

  before(async () => {
    ctx = await IdentityContext.start({
      env: { ...FAST_JOBS_ENV, HOSTPLANE_AGENT_DEFAULT_ALLOCATIONS: `0.0.0.0:${BASE}-${BASE + 19}` },
    });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, { HOSTPLANE_AGENT_DOCKER_SOCKET: '/var/run/docker.sock' });
    node.start();
    const online = await node.waitStatus('online');
    assert.ok(
      online.drivers.some((d: { name: string; available: boolean }) => d.name === 'docker' && d.available),
      JSON.stringify(online.drivers),
    );
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    // Eggs default to 1 core, 1 GiB, 10 GiB each: size the node as an admin would for four of them.
    const sized = await owner.request(`/v1/nodes/${node.id}`, {
      method: 'PUT',
      json: { capacity: { cpu_cores: 16, memory_bytes: 16 * 1024 ** 3, disk_bytes: 100 * 1024 ** 3 } },
    });
    assert.equal(sized.status, 200, sized.text);
  });
  after(async () => {
    const list = await owner?.request('/v1/instances?limit=500');
    for (const i of (list?.body.data ?? []) as { id: string }[])
      await owner.request(`/v1/instances/${i.id}`, { method: 'DELETE' });
    await node?.stop();
    await ctx?.close();
  });

  for (const [file, name] of [
    ['panel__egg-paper__PTDL_v2.json', 'paper-v2'],
    ['panel__egg-paper__PTDL_v1.json', 'paper-v1'],
    ['parkervcp__egg-node-js-generic__PTDL_v2.json', 'nodejs'],
  ] as const) {
    it(`${file}: POST /v1/deploy {egg} alone is accepted and the instance gets an allocated SERVER_PORT`, async () => {
      const res = await owner.request('/v1/deploy', { method: 'POST', json: { name, egg: egg(file) } });
      assert.equal(res.status, 202, res.text);
      const instance = (await owner.request(`/v1/instances/${res.body.instance_id}`)).body;
      const [tcp, udp] = instance.ports as {
        name: string;
        host_port: number;
        container_port: number;
        protocol: string;
      }[];
      assert.deepEqual(
        [tcp!.name, tcp!.protocol, udp!.name, udp!.protocol],
        ['default', 'tcp', 'default-udp', 'udp'],
        'published tcp and udp, as Wings does',
      );
      assert.ok((await pool()).has(tcp!.host_port), 'the port comes from the node pool');
      assert.equal(tcp!.container_port, tcp!.host_port, 'the server binds SERVER_PORT inside the container');
      const held = (await owner.request(`/v1/instances/${instance.id}/allocations`)).body.data;
      assert.deepEqual(
        held.map((a: { port: number; primary: boolean }) => [a.port, a.primary]),
        [[tcp!.host_port, true]],
      );
      // The images (ghcr.io/…) are not on this host and the test machine has no route to ghcr.io: the
      // agent's pull fails and the deployment fails saying which image it could not pull.
      const done = await finalDeployment(res.body.id);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.match(done.error.message, /pulling ghcr\.io\/\S+ failed/);
    });
  }

  it('rust: the required RCON_PASS without a default is asked for by name; with it, every port variable gets its own allocation', async () => {
    const before = (await owner.request('/v1/workloads?limit=500')).body.total as number;
    const refused = await owner.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'rust', egg: egg('panel__egg-rust__PTDL_v2.json') },
    });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.code, 'invalid_variables');
    assert.deepEqual(
      refused.body.variables.map((v: { key: string }) => v.key),
      ['RCON_PASS'],
    );
    assert.match(refused.body.error, /RCON_PASS/);
    assert.equal(
      (await owner.request('/v1/workloads?limit=500')).body.total,
      before,
      'a refused deploy leaves nothing behind',
    );

    const res = await owner.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'rust', egg: egg('panel__egg-rust__PTDL_v2.json'), variables: { RCON_PASS: 'hunter2' } },
    });
    assert.equal(res.status, 202, res.text);
    const instance = (await owner.request(`/v1/instances/${res.body.instance_id}`)).body;
    const v = instance.variables as Record<string, string>;
    const held = (await owner.request(`/v1/instances/${instance.id}/allocations`)).body.data as {
      port: number;
      port_name: string;
      primary: boolean;
    }[];
    const byName = Object.fromEntries(held.map((a) => [a.port_name, a.port]));
    assert.deepEqual(Object.keys(byName).sort(), ['app-port', 'default', 'query-port', 'rcon-port']);
    assert.equal(v.QUERY_PORT, String(byName['query-port']));
    assert.equal(v.RCON_PORT, String(byName['rcon-port']));
    assert.equal(v.APP_PORT, String(byName['app-port']));
    assert.equal(new Set(Object.values(byName)).size, 4, 'four distinct ports');
    const published = new Set((instance.ports as { host_port: number }[]).map((p) => p.host_port));
    assert.deepEqual(
      [...published].sort(),
      Object.values(byName).sort(),
      'docker publishes exactly the allocated ports',
    );
    const done = await finalDeployment(res.body.id);
    assert.equal(done.status, 'failed');
    assert.match(done.error.message, /pulling ghcr\.io\/\S+ failed/);
  });
});
