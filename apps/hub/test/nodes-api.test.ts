import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { NodeMetricsService } from '../src/nodes/node-metrics.service';
import { NodeTelemetryWriter } from '../src/nodes/node-telemetry';
import { FAST_JOBS_ENV, registerNode, TestNode, waitFor } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { sampleMetrics, SimAgent } from './support/sim-agent';

describe('nodes: registration, lifecycle, inventory, metrics, terminal', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let node: TestNode;

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    node = await registerNode(owner, ctx.hub.url, {}, { zone: 'eu-1' });
    node.start();
    await node.waitStatus('online');
  });
  after(async () => {
    await node?.stop();
    await ctx?.close();
  });

  it('registration tokens: shown once, labels applied, uses counted, bad tokens refused with a reason', async () => {
    const n = await node.node();
    assert.deepEqual(n.labels, { zone: 'eu-1' });
    const t = await owner.request('/v1/nodes/register-token', {
      method: 'POST',
      json: { max_uses: 1, expires_in: 60 },
    });
    assert.equal(t.status, 201);
    assert.match(t.body.token, /^hp_reg_[0-9A-Za-z]{38}$/);
    assert.match(t.body.register_command, /hostplane-agent register --hub .* --token hp_reg_/);
    const first = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: t.body.token, hostname: 'web 01.example' },
    });
    assert.equal(first.status, 201, first.text);
    assert.match(first.body.agent_token, /^hp_agt_/);
    const again = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: t.body.token, hostname: 'web02' },
    });
    assert.equal(again.status, 401);
    assert.equal(again.body.code, 'registration_refused');
    const typo = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: t.body.token.slice(0, -1) + 'x', hostname: 'x' },
    });
    assert.equal(typo.status, 401);
    assert.match(typo.body.error, /checksum/);
    const created = await owner.request(`/v1/nodes/${first.body.node_id}`);
    assert.equal(created.body.name, 'web-01.example');
    assert.equal(created.body.status, 'pending');
    const del = await owner.request(`/v1/nodes/${first.body.node_id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
  });

  it('hosts with the same hostname registering at the same moment get distinct names', async () => {
    const t = await owner.request('/v1/nodes/register-token', {
      method: 'POST',
      json: { max_uses: 4, expires_in: 60 },
    });
    const answers = await Promise.all(
      [1, 2, 3, 4].map(() =>
        ctx.hub.request('/v1/agents/register', { method: 'POST', json: { token: t.body.token, hostname: 'twin' } }),
      ),
    );
    for (const a of answers) assert.equal(a.status, 201, a.text);
    const names = await Promise.all(
      answers.map(async (a) => (await owner.request(`/v1/nodes/${a.body.node_id}`)).body.name as string),
    );
    assert.deepEqual([...names].sort(), ['twin', 'twin-2', 'twin-3', 'twin-4']);
    for (const a of answers) await owner.request(`/v1/nodes/${a.body.node_id}`, { method: 'DELETE' });
  });

  it('list, filter, update and validate nodes', async () => {
    const list = await owner.request('/v1/nodes?label=zone%3Deu-1');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((x: { id: string }) => x.id),
      [node.id],
    );
    assert.equal((await owner.request('/v1/nodes?status=offline')).body.total, 0);
    const upd = await owner.request(`/v1/nodes/${node.id}`, {
      method: 'PUT',
      json: { name: 'edge-1', labels: { zone: 'eu-1', ssd: 'true' }, job_concurrency: 2, capacity: { cpu_cores: 4 } },
    });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.name, 'edge-1');
    assert.equal(upd.body.job_concurrency, 2);
    const bad = await owner.request(`/v1/nodes/${node.id}`, { method: 'PUT', json: { name: 'web;rm -rf' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /node names are/);
    const empty = await owner.request(`/v1/nodes/${node.id}`, { method: 'PUT', json: {} });
    assert.equal(empty.status, 400);
    assert.equal((await owner.request('/v1/nodes/not-a-uuid')).status, 400);
    assert.equal((await owner.request('/v1/nodes/00000000-0000-4000-8000-000000000000')).status, 404);
  });

  it('cordon, drain (with no instances it completes at once), cancel and uncordon', async () => {
    const c = await owner.request(`/v1/nodes/${node.id}/cordon`, { method: 'POST' });
    assert.equal(c.body.schedulable, false);
    assert.equal(c.body.status, 'online', 'cordon is separate from status');
    const d = await owner.request(`/v1/nodes/${node.id}/drain`, { method: 'POST', json: { deadline_seconds: 600 } });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.drain.status, 'complete');
    assert.equal(d.body.drain.remaining, 0);
    assert.ok(d.body.drain.deadline_at);
    assert.equal(d.body.drain.actor.type, 'user');
    const cancel = await owner.request(`/v1/nodes/${node.id}/drain`, { method: 'DELETE' });
    assert.equal(cancel.status, 409);
    assert.equal(cancel.body.code, 'not_draining');
    const u = await owner.request(`/v1/nodes/${node.id}/uncordon`, { method: 'POST' });
    assert.equal(u.body.schedulable, true);
  });

  it('inventory: full and by section, as the agent reported it', async () => {
    const inv = await waitFor('inventory', async () => {
      const r = await owner.request(`/v1/nodes/${node.id}/inventory`);
      return r.status === 200 ? r : undefined;
    });
    assert.ok(inv.body.system.cpu_cores >= 1);
    assert.ok(inv.body.network.some((i: { name: string }) => i.name === 'lo'));
    assert.ok(inv.body.disks.some((d: { mount: string }) => d.mount === '/'));
    assert.ok(inv.body.users.some((u: { name: string }) => u.name === 'root'));
    const procs = await owner.request(`/v1/nodes/${node.id}/inventory/processes`);
    assert.ok(procs.body.processes.some((p: { pid: number }) => p.pid === node.agent!.child.pid));
    const containers = await owner.request(`/v1/nodes/${node.id}/inventory/containers`);
    assert.equal(containers.body.containers, null, 'no docker socket configured for this agent');
    assert.equal((await owner.request(`/v1/nodes/${node.id}/inventory/secrets`)).status, 400);
  });

  it('metrics: heartbeats become a time series, bucketed by step, rolled up and pruned by retention', async () => {
    const hist = await waitFor('metrics', async () => {
      const r = await owner.request(`/v1/nodes/${node.id}/metrics/history?step=1`);
      return r.body.points?.length >= 2 ? r : undefined;
    });
    assert.equal(hist.body.source, 'raw');
    const p = hist.body.points[0];
    assert.ok(p.memory_total_bytes > 0 && p.cpu_percent >= 0 && p.samples >= 1);
    assert.ok(p.disk_read_bps >= 0 && p.disk_write_bps >= 0, JSON.stringify(p));
    const bad = await owner.request(
      `/v1/nodes/${node.id}/metrics/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`,
    );
    assert.equal(bad.status, 400);

    const metrics = ctx.hub.app.get(NodeMetricsService);
    const db = ctx.hub.app.get((await import('typeorm')).DataSource);
    const insert = (ago: string) =>
      db.query(`INSERT INTO node_metrics VALUES ($1, now() - $2::interval, 50, 100, 200, 300, 400, 10, 20, 1, 1, 1)`, [
        node.id,
        ago,
      ]);
    await insert('100 hours');
    await insert('12 minutes 1 second');
    await insert('12 minutes 2 seconds');
    const r = await metrics.maintain(30);
    assert.ok(r.prunedRaw >= 1, 'rows older than the raw retention (48 h) are deleted');
    const [{ n }] = await db.query(
      `SELECT count(*)::int AS n FROM node_metrics WHERE node_id = $1 AND ts < now() - interval '2 days'`,
      [node.id],
    );
    assert.equal(n, 0);
    const rolled = await db.query(
      `SELECT samples, cpu_percent FROM node_metrics_5m WHERE node_id = $1 AND bucket < now() - interval '6 minutes' ORDER BY bucket`,
      [node.id],
    );
    assert.ok(rolled.length >= 1 && rolled[0].samples >= 2, JSON.stringify(rolled));
    await db.query(
      `INSERT INTO node_metrics_5m VALUES ($1, now() - interval '200 days', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)`,
      [node.id],
    );
    assert.ok((await metrics.maintain(30)).prunedRollup >= 1);
    const old = await owner.request(
      `/v1/nodes/${node.id}/metrics/history?from=${encodeURIComponent(new Date(Date.now() - 72 * 3600_000).toISOString())}`,
    );
    assert.equal(old.body.source, 'rollup_5m');
    assert.ok(old.body.step >= 300);
  });

  it('metrics: disk and network rates from consecutive heartbeat counters (a reset gives 0), averaged in the roll-up', async () => {
    const db = ctx.hub.app.get((await import('typeorm')).DataSource);
    const writer = new NodeTelemetryWriter(db);
    // Three heartbeats 10 s apart in one 5-minute bucket from before this agent started.
    const bucket = Math.floor((Date.now() - 25 * 60_000) / 300_000) * 300_000;
    // Flushed one by one: the writer keeps only a node's latest heartbeat between flushes.
    const beat = async (at: number, read: number, written: number, rx: number, tx: number) => {
      writer.record(
        node.id,
        { ...sampleMetrics(), disk_read_bytes: read, disk_written_bytes: written, net_rx_bytes: rx, net_tx_bytes: tx },
        bucket + at * 1000,
      );
      await writer.flush();
    };
    await beat(10, 1_000, 2_000, 500, 500);
    await beat(20, 11_000, 42_000, 2_500, 1_500);
    await beat(30, 0, 0, 3_000, 2_000);
    const raw = await db.query(
      `SELECT disk_read_bps, disk_write_bps, net_rx_bps, net_tx_bps FROM node_metrics
        WHERE node_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts`,
      [node.id, new Date(bucket).toISOString(), new Date(bucket + 300_000).toISOString()],
    );
    assert.deepEqual(raw, [
      { disk_read_bps: 0, disk_write_bps: 0, net_rx_bps: 0, net_tx_bps: 0 },
      { disk_read_bps: 1000, disk_write_bps: 4000, net_rx_bps: 200, net_tx_bps: 100 },
      { disk_read_bps: 0, disk_write_bps: 0, net_rx_bps: 50, net_tx_bps: 50 },
    ]);

    await ctx.hub.app.get(NodeMetricsService).maintain(30);
    const [rolled] = await db.query(
      `SELECT samples, disk_read_bps, disk_write_bps FROM node_metrics_5m WHERE node_id = $1 AND bucket = $2`,
      [node.id, new Date(bucket).toISOString()],
    );
    assert.equal(rolled.samples, 3);
    assert.ok(Math.abs(rolled.disk_read_bps - 1000 / 3) < 0.01, JSON.stringify(rolled));
    assert.ok(Math.abs(rolled.disk_write_bps - 4000 / 3) < 0.01, JSON.stringify(rolled));
    const fromRollup = await owner.request(
      `/v1/nodes/${node.id}/metrics/history?from=${encodeURIComponent(new Date(Date.now() - 72 * 3600_000).toISOString())}&step=300`,
    );
    assert.equal(fromRollup.body.source, 'rollup_5m');
    const point = fromRollup.body.points.find((x: { ts: string }) => Date.parse(x.ts) === bucket);
    assert.deepEqual([point?.disk_read_bps, point?.disk_write_bps], [333.33, 1333.33], JSON.stringify(point));
  });

  it('terminal: a pty on the host over a WebSocket, echo round trip, resize, clean close', async () => {
    const url = `${ctx.hub.url.replace('http', 'ws')}/v1/nodes/${node.id}/terminal?cols=100&rows=30`;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${owner.accessToken}`, 'x-org-id': owner.defaultOrg! },
    });
    let out = '';
    ws.on('message', (d: Buffer) => (out += d.toString()));
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    ws.send('stty size; echo hello-$((6*7))\n');
    await waitFor('echo', async () => (out.includes('hello-42') ? true : undefined), 10_000);
    assert.match(out, /40 120/);
    ws.send('exit\n');
    const closed = await new Promise<{ code: number; reason: string }>((r) =>
      ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    assert.equal(closed.code, 1000);
    assert.match(closed.reason, /exit 0/);
    const audit = await ctx.auditEntries({ action: 'node.terminal.open' });
    assert.equal(audit[0].target_id, node.id);

    const anonymous = await fetch(`${ctx.hub.url}/v1/nodes/${node.id}/terminal`);
    assert.equal(anonymous.status, 401);
    const plain = await owner.request(`/v1/nodes/${node.id}/terminal`);
    assert.equal(plain.status, 426);
    assert.equal(plain.body.code, 'upgrade_required');
    const refused = new WebSocket(url);
    const status = await new Promise((r) => refused.once('unexpected-response', (_req, res) => r(res.statusCode)));
    assert.equal(status, 401);
  });

  it('a viewer cannot open a terminal, and another organization sees no node at all', async () => {
    const viewer = await ctx.addMember({ id: owner.defaultOrg!, owner }, 'viewer');
    const ws = new WebSocket(`${ctx.hub.url.replace('http', 'ws')}/v1/nodes/${node.id}/terminal`, {
      headers: { authorization: `Bearer ${viewer.accessToken}`, 'x-org-id': owner.defaultOrg! },
    });
    assert.equal(await new Promise((r) => ws.once('unexpected-response', (_q, res) => r(res.statusCode))), 403);
    assert.equal((await viewer.request(`/v1/nodes/${node.id}`)).status, 200);
    assert.equal((await viewer.request(`/v1/nodes/${node.id}/cordon`, { method: 'POST' })).status, 403);
    const stranger = (await ctx.newOrg()).owner;
    for (const path of [
      `/v1/nodes/${node.id}`,
      `/v1/nodes/${node.id}/inventory`,
      `/v1/nodes/${node.id}/metrics/history`,
    ]) {
      const r = await stranger.request(path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.text, new RegExp(node.id.slice(0, 8) + '.*status'));
    }
    assert.equal((await stranger.request('/v1/nodes')).body.total, 0);
  });

  it('the tunnel refuses bad tokens and protocol mismatches with a reason, and answers malformed frames with an error', async () => {
    const bad = new SimAgent({ hubUrl: ctx.hub.url, token: 'hp_agt_nonsense' });
    await assert.rejects(bad.connect(), (e: Error & { data?: { code: string } }) => e.data?.code === 'invalid_token');
    bad.close();
    const reg = await owner.request('/v1/nodes/register-token', { method: 'POST', json: {} });
    const r = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: 'sim' },
    });
    const future = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token, protocolVersion: 99 });
    await assert.rejects(
      future.connect(),
      (e: Error & { data?: { code: string; message: string } }) =>
        e.data?.code === 'protocol_mismatch' && /upgrade the hub/.test(e.data.message),
    );
    future.close();

    const sim = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token });
    await sim.connect();
    sim.emitRaw('heartbeat', { seq: 'x' });
    sim.emitRaw('inventory', 'not an inventory');
    sim.emitRaw('no.such.event', {});
    await waitFor('error frames', async () => (sim.errors.length >= 3 ? true : undefined), 5000);
    assert.deepEqual(sim.errors.map((e) => e.code).sort(), ['invalid_frame', 'invalid_frame', 'unknown_event']);
    assert.ok(sim.socket.connected, 'the hub keeps the agent connected');

    // A second connection for the same node replaces the first.
    const second = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token });
    await second.connect();
    await waitFor('replaced', async () => (sim.refusals.some((x) => x.code === 'replaced') ? true : undefined), 5000);
    await waitFor('old socket closed', async () => (!sim.socket.connected ? true : undefined), 5000);
    assert.ok(second.socket.connected);
    const agents = await ctx.admin.request('/v1/tunnel/agents');
    assert.equal(agents.status, 200);
    assert.equal(agents.body.data.filter((a: { node_id: string }) => a.node_id === r.body.node_id).length, 1);
    const stats = await ctx.admin.request('/v1/tunnel/stats');
    assert.ok(stats.body.connected_agents >= 2);
    assert.ok(stats.body.refused_total >= 2);
    assert.ok(stats.body.invalid_frames_total >= 3);
    assert.equal(
      (await owner.withToken({ bearer: (await ctx.newUser()).accessToken }).request('/v1/tunnel/stats')).status,
      403,
    );

    // Deleting the node drops its socket at once with the reason.
    await owner.request(`/v1/nodes/${r.body.node_id}`, { method: 'DELETE' });
    await waitFor(
      'deleted',
      async () => (second.refusals.some((x) => x.code === 'node_deleted') ? true : undefined),
      5000,
    );
    second.close();
    sim.close();
    const after = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token });
    await assert.rejects(after.connect(), (e: Error & { data?: { code: string } }) => e.data?.code === 'node_deleted');
    after.close();
  });

  it('a node whose agent stops heartbeating goes offline after the missed-heartbeat window', async () => {
    const reg = await owner.request('/v1/nodes/register-token', { method: 'POST', json: {} });
    const r = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: 'quiet' },
    });
    const sim = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token, heartbeat: false });
    await sim.connect();
    assert.equal((await owner.request(`/v1/nodes/${r.body.node_id}`)).body.status, 'online');
    const t0 = Date.now();
    await waitFor(
      'offline',
      async () => ((await owner.request(`/v1/nodes/${r.body.node_id}`)).body.status === 'offline' ? true : undefined),
      15_000,
    );
    assert.ok(Date.now() - t0 >= 2000, 'not before the window (3 × 1 s)');
    sim.close();
  });
});
