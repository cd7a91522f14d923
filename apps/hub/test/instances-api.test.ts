import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JobEnvelope, JobOutcome } from '@hostplane/protocol';
import { FAST_JOBS_ENV, waitFor, waitForOperation } from './support/agents';
import { Client, IdentityContext } from './support/identity';
import { SimAgent } from './support/sim-agent';

/** A host that answers instance jobs like an agent would, so the hub's side is tested alone. */
function simHost(states: Map<string, string>) {
  return (job: JobEnvelope): JobOutcome => {
    const p = job.payload as { instance_id?: string; spec?: { instance_id: string } };
    const id = p.instance_id ?? p.spec!.instance_id;
    const finished_at = new Date().toISOString();
    const status = (state: string) => ({
      instance_id: id,
      state,
      reason: null,
      exit_code: null,
      pid: 42,
      container_id: null,
      started_at: null,
      restarts: 0,
    });
    switch (job.kind) {
      case 'instance.create':
      case 'instance.update':
        states.set(id, 'stopped');
        return { job_id: job.job_id, status: 'succeeded', result: status('stopped'), finished_at };
      case 'instance.start':
      case 'instance.restart':
        states.set(id, 'running');
        return { job_id: job.job_id, status: 'succeeded', result: status('running'), finished_at };
      case 'instance.stop':
      case 'instance.kill':
        states.set(id, 'stopped');
        return { job_id: job.job_id, status: 'succeeded', result: status('stopped'), finished_at };
      case 'instance.delete':
        states.delete(id);
        return { job_id: job.job_id, status: 'succeeded', result: { instance_id: id, deleted: true }, finished_at };
      case 'instance.stats':
        return {
          job_id: job.job_id,
          status: 'succeeded',
          result: {
            instance_id: id,
            ts: finished_at,
            cpu_percent: 3,
            memory_bytes: 1e6,
            memory_limit_bytes: null,
            disk_bytes: 0,
            net_rx_bytes: 0,
            net_tx_bytes: 0,
            uptime_seconds: 5,
          },
          finished_at,
        };
      case 'instance.logs':
        return { job_id: job.job_id, status: 'succeeded', result: { instance_id: id, lines: ['hello'] }, finished_at };
      default:
        return {
          job_id: job.job_id,
          status: 'failed',
          error: { code: 'unknown_kind', message: job.kind },
          finished_at,
        };
    }
  };
}

describe('instances on the hub: placement, lifecycle jobs, state', () => {
  let ctx: IdentityContext;
  let owner: Client;
  let sim: SimAgent;
  let nodeId: string;
  let workloadId: string;
  const hostStates = new Map<string, string>();

  before(async () => {
    ctx = await IdentityContext.start({ env: FAST_JOBS_ENV });
    owner = ctx.admin.inOrg(ctx.admin.personalOrgId);
    const reg = await owner.request('/v1/nodes/register-token', { method: 'POST', json: {} });
    const r = await ctx.hub.request('/v1/agents/register', {
      method: 'POST',
      json: { token: reg.body.token, hostname: 'sim-host' },
    });
    nodeId = r.body.node_id;
    sim = new SimAgent({ hubUrl: ctx.hub.url, token: r.body.agent_token, onJob: simHost(hostStates) });
    await sim.connect();
    await owner.request(`/v1/nodes/${nodeId}`, {
      method: 'PUT',
      json: { capacity: { cpu_cores: 4, memory_bytes: 8 * 2 ** 30, disk_bytes: 100 * 2 ** 30 } },
    });
    const w = await owner.request('/v1/workloads/from-template', {
      method: 'POST',
      json: { template: 'nodejs-app', name: 'app' },
    });
    assert.equal(w.status, 201, w.text);
    workloadId = w.body.id;
  });
  after(async () => {
    sim?.close();
    await ctx?.close();
  });

  it("creates a placed instance, installs and starts it, and follows the host's state", async () => {
    const res = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'web-1', workload_id: workloadId },
    });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.kind, 'instance.create');
    assert.equal(res.body.instance.node_id, nodeId);
    assert.equal(res.body.instance.state, 'pending');
    assert.ok(res.body.resources.includes(`/v1/instances/${res.body.instance.id}`));
    const id = res.body.instance.id;
    await waitForOperation(owner, res.body.id);
    const running = await waitFor('running', async () => {
      const i = await owner.request(`/v1/instances/${id}`);
      return i.body.state === 'running' ? i.body : undefined;
    }).catch(async (err: Error) => {
      const ops = await owner.request(`/v1/operations?limit=10`);
      throw new Error(
        `${err.message}: ${JSON.stringify((await owner.request(`/v1/instances/${id}`)).body)} ${JSON.stringify(ops.body.data.map((o: any) => [o.kind, o.status, o.error]))}`,
      );
    });
    assert.equal(running.desired_state, 'running');
    assert.equal(hostStates.get(id), 'running');
    const create = sim.jobs.find((j) => j.kind === 'instance.create')!;
    const spec = (create.payload as { spec: { startup: string; env: Record<string, string>; driver: string } }).spec;
    assert.equal(spec.driver, 'process');
    assert.ok(spec.startup.length > 0);

    const stop = await owner.request(`/v1/instances/${id}/stop`, { method: 'POST' });
    assert.equal(stop.status, 202);
    await waitForOperation(owner, stop.body.id);
    const stopped = await owner.request(`/v1/instances/${id}`);
    assert.equal(stopped.body.state, 'stopped');
    assert.equal(stopped.body.desired_state, 'stopped');

    const stats = await owner.request(`/v1/instances/${id}/stats`);
    assert.equal(stats.status, 200, stats.text);
    assert.equal(stats.body.cpu_percent, 3);
    const logs = await owner.request(`/v1/instances/${id}/logs/history?lines=10`);
    assert.deepEqual(logs.body.lines, ['hello']);

    const del = await owner.request(`/v1/instances/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    await waitForOperation(owner, del.body.id);
    await waitFor('gone', async () => ((await owner.request(`/v1/instances/${id}`)).status === 404 ? true : undefined));
  });

  it('reserves capacity: an instance that does not fit anywhere is refused with the reason', async () => {
    const res = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'huge', workload_id: workloadId, resources: { memory_bytes: 64 * 2 ** 30 } },
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'no_node_fits');
    assert.match(JSON.stringify(res.body.rejected), /memory/);
    await owner.request(`/v1/nodes/${nodeId}/cordon`, { method: 'POST' });
    const cordoned = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'x', workload_id: workloadId, node_id: nodeId },
    });
    assert.equal(cordoned.status, 409);
    assert.match(cordoned.body.error, /cordoned/);
    await owner.request(`/v1/nodes/${nodeId}/uncordon`, { method: 'POST' });
  });

  it('validates variables, names and ids; a node with instances cannot be deleted', async () => {
    const bad = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'bad name!', workload_id: workloadId },
    });
    assert.equal(bad.status, 400);
    const unknownVar = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'v', workload_id: workloadId, variables: { NOPE: 'x' } },
    });
    assert.equal(unknownVar.status, 400);
    assert.equal(unknownVar.body.code, 'invalid_variables');
    const ok = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'keeper', workload_id: workloadId, start: false },
    });
    assert.equal(ok.status, 202, ok.text);
    const dup = await owner.request('/v1/instances', {
      method: 'POST',
      json: { name: 'keeper', workload_id: workloadId, start: false },
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'name_taken');
    const del = await owner.request(`/v1/nodes/${nodeId}`, { method: 'DELETE' });
    assert.equal(del.status, 409);
    assert.equal(del.body.code, 'node_not_empty');
    const stranger = (await ctx.newOrg()).owner;
    assert.equal((await stranger.request(`/v1/instances/${ok.body.instance.id}`)).status, 404);
    assert.equal((await stranger.request('/v1/instances')).body.total, 0);
  });
});
