import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { InstanceMetricsService } from '../src/instances/instance-metrics.service';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { SimAgent } from './support/sim-agent';

const MiB = 1024 * 1024;
const BUSY_WORKLOAD = {
  name: 'busy-loop',
  driver: 'process',
  startup: 'echo ready; while true; do i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 0.05; done',
  resources: { cpu_cores: 0.5, memory_bytes: 64 * MiB, disk_bytes: 0 },
  ready_pattern: '^ready$',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 2 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};

describe('instance metrics history (real agent, 1 s metrics interval)', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;
  let db: DataSource;
  let instanceId: string;
  const sims: SimAgent[] = [];

  const rawCount = async (where = '') =>
    (
      (await db.query(`SELECT count(*)::int AS n FROM instance_metrics WHERE instance_id = $1 ${where}`, [
        instanceId,
      ])) as [{ n: number }]
    )[0].n;

  /** A second node speaking the real protocol, in `client`'s organization. */
  async function simNode(client: Client): Promise<SimAgent> {
    const reg = await client.request('/v1/nodes/register-token', { method: 'POST', json: {} });
    assert.equal(reg.status, 201, reg.text);
    const r = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: 'sim-host' },
    });
    assert.equal(r.status, 201, r.text);
    const sim = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token });
    sims.push(sim);
    await sim.connect();
    return sim;
  }

  before(async () => {
    // Instance samples follow the heartbeat interval the hub gives its agents (1 s here).
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    db = ctx.hub.app.get(DataSource);
    node = await registerNode(owner, ctx.hub.url);
    node.start();
    await node.waitStatus('online');
    await waitFor('inventory', async () =>
      (await owner.request(`/v1/nodes/${node.id}/inventory`)).status === 200 ? true : undefined,
    );
    const w = await owner.request('/v1/workloads', { method: 'POST', json: BUSY_WORKLOAD });
    assert.equal(w.status, 201, w.text);
    const d = await owner.request('/v1/deploy', {
      method: 'POST',
      json: { name: 'busy-1', workload_id: w.body.id, node_id: node.id },
    });
    assert.equal(d.status, 202, d.text);
    instanceId = d.body.instance_id;
    await waitFor(
      'running',
      async () => ((await owner.request(`/v1/deploy/${d.body.id}`)).body.status === 'running' ? true : undefined),
      30_000,
    );
  });
  after(async () => {
    for (const s of sims) s.close();
    await node?.stop();
    await ctx?.close();
  });

  it('samples of a running instance appear every interval, with CPU, memory and its limit', async () => {
    const hist = await waitFor(
      'three samples',
      async () => {
        const from = encodeURIComponent(new Date(Date.now() - 5 * 60_000).toISOString());
        const r = await owner.request(`/v1/instances/${instanceId}/metrics/history?from=${from}&step=1`);
        assert.equal(r.status, 200, r.text);
        return r.body.points.length >= 3 ? r.body : undefined;
      },
      15_000,
    );
    assert.equal(hist.instance_id, instanceId);
    assert.equal(hist.source, 'raw');
    assert.equal(hist.step, 1);
    const last = hist.points[hist.points.length - 1];
    assert.ok(last.memory_bytes > 0, JSON.stringify(last));
    assert.equal(last.memory_limit_bytes, 64 * MiB);
    assert.ok(
      hist.points.some((p: { cpu_percent: number }) => p.cpu_percent > 0),
      'the busy loop shows as CPU',
    );
    assert.ok(last.cpu_percent_max >= last.cpu_percent);
    const raw = await owner.request(`/v1/instances/${instanceId}/metrics/history?resolution=raw`);
    assert.equal(raw.body.source, 'raw');
    assert.ok(raw.body.points.length >= 1);
  });

  it('samples another node or organization sends for this instance are not stored', async () => {
    const sameOrg = await simNode(owner);
    const otherOrg = await simNode((await ctx.newOrg()).owner);
    const forged = {
      instance_id: instanceId,
      ts: new Date().toISOString(),
      cpu_percent: 4242,
      memory_bytes: 1,
      memory_limit_bytes: null,
      disk_bytes: 0,
      net_rx_bytes: 0,
      net_tx_bytes: 0,
      uptime_seconds: 1,
    };
    sameOrg.emitRaw('instance:metrics', { ts: forged.ts, samples: [forged] });
    otherOrg.emitRaw('instance:metrics', { ts: forged.ts, samples: [forged] });
    sameOrg.emitRaw('instance:metrics', { ts: 'yesterday', samples: [] });
    await waitFor(
      'the invalid frame answered',
      async () => (sameOrg.errors.some((e) => e.code === 'invalid_frame') ? true : undefined),
      5000,
    );
    // The real agent's next samples are written, so the forged ones had their chance to be.
    const before = await rawCount();
    await waitFor('a later real sample', async () => ((await rawCount()) > before ? true : undefined), 10_000);
    assert.equal(await rawCount('AND cpu_percent = 4242'), 0);
  });

  it('5-minute rollups, retention, and validation', async () => {
    const metrics = ctx.hub.app.get(InstanceMetricsService);
    await db.query(`INSERT INTO instance_metrics VALUES ($1, now() - interval '100 hours', 1, 1, null, 0, 0, 0)`, [
      instanceId,
    ]);
    const r = await metrics.maintain(30);
    assert.ok(r.rolledUp >= 1, JSON.stringify(r));
    assert.ok(r.prunedRaw >= 1, 'rows older than the raw retention (48 h) are deleted');
    assert.equal(await rawCount(`AND ts < now() - interval '2 days'`), 0);
    const rolled = await owner.request(`/v1/instances/${instanceId}/metrics/history?resolution=5m`);
    assert.equal(rolled.status, 200, rolled.text);
    assert.equal(rolled.body.source, 'rollup_5m');
    assert.equal(rolled.body.step % 300, 0);
    const total = rolled.body.points.reduce((n: number, p: { samples: number }) => n + p.samples, 0);
    assert.ok(total >= 3, JSON.stringify(rolled.body.points));
    assert.ok(rolled.body.points[0].memory_bytes_max >= rolled.body.points[0].memory_bytes);
    // An old range reads the rollups by itself.
    const old = await owner.request(
      `/v1/instances/${instanceId}/metrics/history?from=${encodeURIComponent(new Date(Date.now() - 72 * 3600_000).toISOString())}`,
    );
    assert.equal(old.body.source, 'rollup_5m');

    for (const q of ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'resolution=1h', 'step=0']) {
      const bad = await owner.request(`/v1/instances/${instanceId}/metrics/history?${q}`);
      assert.equal(bad.status, 400, `${q}: ${bad.text}`);
      assert.equal(bad.body.code, 'validation_failed');
    }
    const stranger = (await ctx.newOrg()).owner;
    assert.equal((await stranger.request(`/v1/instances/${instanceId}/metrics/history`)).status, 404);
  });

  it('a stopped instance sends no more samples', async () => {
    const stop = await owner.request(`/v1/instances/${instanceId}/stop`, { method: 'POST' });
    assert.equal((await waitForOperation(owner, stop.body.id, 20_000)).status, 'succeeded');
    await new Promise((r) => setTimeout(r, 1500));
    const settled = await rawCount();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await rawCount(), settled);
  });
});
