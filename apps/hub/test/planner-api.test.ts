import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Inventory } from '@hostplane/protocol';
import { waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { SimAgent } from './support/sim-agent';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function inventory(cores: number, memory: number, rootDisk: number): Inventory {
  return {
    collected_at: new Date().toISOString(),
    system: {
      hostname: 'sim',
      os: 'linux',
      platform: 'linux',
      release: '6.1',
      kernel: '6.1.0',
      arch: 'x64',
      cpu_model: 'sim',
      cpu_cores: cores,
      memory_total_bytes: memory,
      uptime_seconds: 100,
    },
    network: [],
    disks: [
      { filesystem: '/dev/sda2', mount: '/boot', type: 'ext4', size_bytes: GiB, used_bytes: 0, available_bytes: GiB },
      {
        filesystem: '/dev/sda1',
        mount: '/',
        type: 'ext4',
        size_bytes: rootDisk,
        used_bytes: 0,
        available_bytes: rootDisk,
      },
    ],
    users: [],
    processes: [],
    containers: null,
  };
}

describe('planner API: suggest-fit and recommend over real registered nodes', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let viewer: Client;
  let outsider: Client;
  const sims: SimAgent[] = [];
  const ids: Record<string, string> = {};

  /** Registers a node through the real API and, unless `connect` is false, brings it online with a SimAgent. */
  async function addNode(name: string, labels: Record<string, string>, connect = true): Promise<SimAgent | undefined> {
    const reg = await owner.request('/v1/nodes/register-token', { method: 'POST', json: { labels } });
    assert.equal(reg.status, 201, reg.text);
    const r = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: name, name },
    });
    assert.equal(r.status, 201, r.text);
    ids[name] = r.body.node_id;
    if (!connect) return undefined;
    const sim = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token, hostname: name });
    sims.push(sim);
    await sim.connect();
    return sim;
  }

  const suggest = (client: Client, json: Record<string, unknown>) =>
    client.request('/v1/planner/suggest-fit', { method: 'POST', json });
  const reasonsOf = (body: any, name: string): string[] =>
    body.rejected.find((r: { name: string }) => r.name === name)?.reasons ?? [];

  before(async () => {
    ctx = await IdentityContext.start();
    const org = await ctx.newOrg({ name: 'Fleet' });
    owner = org.owner;
    viewer = await ctx.addMember(org, 'viewer');
    outsider = (await ctx.newOrg()).owner;

    // small: 4 cores / 8 GiB / 100 GiB from its inventory; big: capacity overrides, no inventory;
    // blank: online but has reported nothing; never: registered, never connected.
    const small = await addNode('small', { zone: 'eu-1' });
    small!.socket.emit('inventory', inventory(4, 8 * GiB, 100 * GiB));
    await waitFor(
      'inventory stored',
      async () => ((await owner.request(`/v1/nodes/${ids.small}/inventory`)).status === 200 ? true : undefined),
      10_000,
    );
    await addNode('big', {});
    const upd = await owner.request(`/v1/nodes/${ids.big}`, {
      method: 'PUT',
      json: { capacity: { cpu_cores: 16, memory_bytes: 64 * GiB, disk_bytes: 500 * GiB } },
    });
    assert.equal(upd.status, 200, upd.text);
    await addNode('blank', {});
    await addNode('never', {}, false);
  });
  after(async () => {
    for (const s of sims) s.close();
    await ctx?.close();
  });

  it('binpack picks the fuller node that fits, spread the emptier; every other node says why not', async () => {
    const res = await suggest(owner, {
      driver: 'process',
      resources: { cpu_cores: 2, memory_bytes: 4 * GiB, disk_bytes: 10 * GiB },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.strategy, 'binpack');
    assert.equal(res.body.chosen.name, 'small');
    assert.deepEqual(
      res.body.ranked.map((r: { name: string }) => r.name),
      ['small', 'big'],
    );
    assert.equal(res.body.ranked[0].score, 0.5);
    assert.deepEqual(res.body.chosen.free, { cpu_cores: 2, memory_bytes: 4 * GiB, disk_bytes: 90 * GiB });
    assert.deepEqual(reasonsOf(res.body, 'never').slice(0, 2), [
      'node is pending: its agent has never connected',
      'driver process is not available on this node (it has: none)',
    ]);
    assert.match(reasonsOf(res.body, 'blank')[1]!, /needs 4096 MiB memory, but the node's memory capacity is unknown/);
    assert.equal(res.body.evaluated, 4);
    assert.match(res.body.summary, /^2 of 4 nodes fit; binpack chose small/);

    const spread = await suggest(owner, {
      driver: 'process',
      resources: { cpu_cores: 2, memory_bytes: 4 * GiB },
      strategy: 'spread',
    });
    assert.equal(spread.body.chosen.name, 'big');

    const tooBig = await suggest(owner, { driver: 'process', resources: { memory_bytes: 16 * GiB } });
    assert.equal(tooBig.body.chosen.name, 'big');
    assert.deepEqual(reasonsOf(tooBig.body, 'small'), [
      'needs 16384 MiB memory, 8192 MiB free (8192 MiB total, 0 MiB allocated)',
    ]);
  });

  it('a cordoned node is rejected with a reason, and taken again once uncordoned', async () => {
    const json = { driver: 'process', resources: { cpu_cores: 1, memory_bytes: 512 * MiB } };
    assert.equal((await owner.request(`/v1/nodes/${ids.small}/cordon`, { method: 'POST' })).status, 200);
    try {
      const res = await suggest(owner, json);
      assert.equal(res.body.chosen.name, 'big');
      assert.deepEqual(reasonsOf(res.body, 'small'), ['node is cordoned: it accepts no new workloads']);
      assert.equal(res.body.rejected_counts.cordoned, 1);
    } finally {
      await owner.request(`/v1/nodes/${ids.small}/uncordon`, { method: 'POST' });
    }
    assert.equal((await suggest(owner, json)).body.chosen.name, 'small');
  });

  it('labels and drivers filter; a disconnected agent makes its node offline', async () => {
    const eu = await suggest(owner, { driver: 'process', resources: { cpu_cores: 1 }, node_labels: { zone: 'eu-1' } });
    assert.deepEqual(
      eu.body.ranked.map((r: { name: string }) => r.name),
      ['small'],
    );
    assert.deepEqual(reasonsOf(eu.body, 'big'), ['needs label zone=eu-1, node has no zone label']);

    const docker = await suggest(owner, { driver: 'docker', resources: { cpu_cores: 1 } });
    assert.equal(docker.body.chosen, null);
    assert.deepEqual(reasonsOf(docker.body, 'big'), ['driver docker is not available on this node (it has: process)']);
    assert.match(docker.body.summary, /^none of 4 nodes fit: 1 not online, 4 without the driver/);

    const temp = await addNode('temp', {});
    try {
      temp!.close();
      await waitFor(
        'temp offline',
        async () => ((await owner.request(`/v1/nodes/${ids.temp}`)).body.status === 'offline' ? true : undefined),
        10_000,
      );
      const gone = await suggest(owner, { driver: 'process', resources: { cpu_cores: 1 } });
      assert.equal(reasonsOf(gone.body, 'temp')[0], 'node is offline, not online');
    } finally {
      await owner.request(`/v1/nodes/${ids.temp}`, { method: 'DELETE' });
    }
  });

  it("places a stored workload with its constraints; another organization's workload is a 404", async () => {
    const w = await owner.request('/v1/workloads/from-template', {
      method: 'POST',
      json: { template: 'nodejs-app', size: 'large', name: 'api', node_labels: { zone: 'eu-1' } },
    });
    assert.equal(w.status, 201, w.text);
    const res = await suggest(owner, { workload_id: w.body.id });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.request.node_labels, { zone: 'eu-1' });
    assert.equal(res.body.request.resources.memory_bytes, 1024 * MiB);
    assert.equal(res.body.chosen.name, 'small');

    const overridden = await suggest(owner, { workload_id: w.body.id, node_labels: {}, strategy: 'spread' });
    assert.equal(overridden.body.chosen.name, 'big');

    assert.equal((await suggest(outsider, { workload_id: w.body.id })).status, 404);
    const theirs = await suggest(outsider, { driver: 'process', resources: { cpu_cores: 1 } });
    assert.equal(theirs.body.evaluated, 0, "no one sees another organization's nodes");
    assert.match(theirs.body.summary, /no nodes/);

    const both = await suggest(owner, { workload_id: w.body.id, driver: 'process' });
    assert.equal(both.status, 400);
    assert.match(both.body.error, /give workload_id or driver, not both/);
    assert.equal((await suggest(owner, {})).status, 400);
  });

  it('recommends a size for a template or a workload, with the nodes that fit each size', async () => {
    const node = await owner.request('/v1/planner/recommend', { method: 'POST', json: { template: 'nodejs-app' } });
    assert.equal(node.status, 200, node.text);
    assert.equal(node.body.size, 'medium');
    assert.equal(node.body.resources.memory_bytes, 512 * MiB);
    assert.deepEqual(
      node.body.sizes.map((s: { name: string; fitting: number }) => [s.name, s.fitting]),
      [
        ['small', 2],
        ['medium', 2],
        ['large', 2],
      ],
    );
    assert.equal(node.body.placement.chosen.name, 'small');
    assert.match(node.body.reasons[1], /2 of 4 nodes have room for it/);

    const redis = await owner.request('/v1/planner/recommend', {
      method: 'POST',
      json: { template: 'redis', size: 'large' },
    });
    assert.equal(redis.body.size, 'large');
    assert.equal(redis.body.variables.MAXMEMORY, '3072mb');
    assert.equal(redis.body.placement.chosen, null, 'no node runs docker');
    assert.ok(redis.body.reasons.includes('no node has room for it now'));

    const mc = await owner.request('/v1/workloads/from-template', {
      method: 'POST',
      json: {
        template: 'minecraft-paper',
        name: 'mc',
        resources: { cpu_cores: 8, memory_bytes: 32 * GiB, disk_bytes: 50 * GiB },
      },
    });
    const forWorkload = await owner.request('/v1/planner/recommend', {
      method: 'POST',
      json: { workload_id: mc.body.id },
    });
    assert.equal(forWorkload.status, 200, forWorkload.text);
    assert.equal(forWorkload.body.subject.kind, 'workload');
    assert.deepEqual(
      forWorkload.body.sizes.map((s: { name: string }) => s.name),
      ['declared', 'small', 'medium', 'large'],
    );
    assert.equal(forWorkload.body.size, 'declared');

    assert.equal(
      (await owner.request('/v1/planner/recommend', { method: 'POST', json: { template: 'quake' } })).status,
      404,
    );
    const noSize = await owner.request('/v1/planner/recommend', {
      method: 'POST',
      json: { template: 'redis', size: 'declared' },
    });
    assert.equal(noSize.status, 400);
    assert.equal(
      noSize.body.error,
      'invalid body: size: template Redis has no size "declared"; it has: small, medium, large',
    );
  });

  it('planner templates list every template with its sizes; viewers may plan', async () => {
    const t = await viewer.request('/v1/planner/templates');
    assert.equal(t.status, 200);
    assert.equal(t.body.total, 4);
    const mc = t.body.data.find((x: { id: string }) => x.id === 'minecraft-paper');
    assert.deepEqual(
      mc.sizes.map((s: { name: string }) => s.name),
      ['small', 'medium', 'large'],
    );
    assert.equal(mc.driver, 'docker');
    assert.equal((await suggest(viewer, { driver: 'process', resources: { cpu_cores: 1 } })).status, 200);
    assert.equal((await ctx.hub.request('/v1/planner/suggest-fit', { method: 'POST', json: {} })).status, 401);
  });
});
