import { EventsService } from '@hostplane/hub/dist/src/events/events.service';
import { IdentityContext } from '@hostplane/hub/dist/test/support/identity';
import { OwnRedisCluster } from '@hostplane/hub/dist/test/support/redis-cluster';
import { OwnRedis } from '@hostplane/hub/dist/test/support/redis-server';
import { SimAgent } from '@hostplane/hub/dist/test/support/sim-agent';
import Redis from 'ioredis';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { ratio, round, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * The hub on one Redis against the hub on a Redis Cluster of three masters with a replica each
 * (decision 0027), side by side in one run (each path on one, then at once on the other), both
 * started by the run on loopback, each under a hub in this process with a simulated agent:
 * jobs (POST selftest → `GET /v1/operations/{id}/wait` answered) and events
 * (`EventsService.publishAndWait`: outbox row, relay, stream, seen by the reader), one at a time
 * and many at once. CPU is this process's (hub, agent and client) and Redis's (every server of
 * the cluster), per job or event.
 */

const ORG_PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

interface Row {
  target: string;
  path: string;
  count: number;
  p50: number;
  p99: number;
  perSecond: number;
  cpuMsPerOp: number;
  redisCpuMsPerOp: number | null;
}

async function redisCpuSeconds(servers: Redis[]): Promise<number | null> {
  try {
    const infos = await Promise.all(servers.map((s) => s.info('cpu')));
    let total = 0;
    for (const info of infos) {
      const user = /used_cpu_user:([\d.]+)/.exec(info);
      const sys = /used_cpu_sys:([\d.]+)/.exec(info);
      if (!user || !sys) return null;
      total += Number(user[1]) + Number(sys[1]);
    }
    return total;
  } catch {
    return null;
  }
}

async function measure(
  target: string,
  path: string,
  count: number,
  concurrency: number,
  servers: Redis[],
  one: (i: number) => Promise<unknown>,
): Promise<Row> {
  const samples: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpuSeconds(servers);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const s = performance.now();
        await one(i);
        samples.push(performance.now() - s);
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const redis1 = await redisCpuSeconds(servers);
  const summary = summarize(samples);
  return {
    target,
    path: `${path}, ${concurrency} at a time`,
    count,
    p50: summary.p50,
    p99: summary.p99,
    perSecond: (count * 1000) / wall,
    cpuMsPerOp: (cpu.user + cpu.system) / 1000 / count,
    redisCpuMsPerOp: redis0 === null || redis1 === null ? null : ((redis1 - redis0) * 1000) / count,
  };
}

interface Target {
  name: string;
  ctx: IdentityContext;
  agent: SimAgent;
  nodeId: string;
  servers: Redis[];
}

async function startTarget(
  name: string,
  env: Record<string, string>,
  servers: Redis[],
  prefix?: string,
): Promise<Target> {
  const ctx = await IdentityContext.start({
    env: { HOSTPLANE_LOG_LEVEL: 'warn', ...env },
    hub: prefix ? { redisPrefix: prefix } : {},
  });
  const admin = ctx.admin.inOrg(ctx.admin.personalOrgId);
  const token = await admin.request('/v1/nodes/register-token', { method: 'POST', json: { max_uses: 1 } });
  const node = await admin.request('/v1/agents/register', {
    method: 'POST',
    json: { token: token.body.token, hostname: `bench-${name}`, os: 'linux', arch: 'x64', agent_version: 'sim' },
  });
  if (node.status !== 201) throw new Error(`registering the simulated agent: ${node.text}`);
  const agent = new SimAgent({
    hubUrl: ctx.hub.url,
    token: node.body.agent_token as string,
    hostname: `bench-${name}`,
  });
  await agent.connect(30_000);
  return { name, ctx, agent, nodeId: node.body.node_id as string, servers };
}

/** The paths measured, each run on both targets back to back, so machine drift hits both alike. */
function paths(
  t: Target,
  jobs: number,
  events: number,
): { name: string; count: number; concurrency: number; one: (i: number) => Promise<unknown> }[] {
  const admin = t.ctx.admin.inOrg(t.ctx.admin.personalOrgId);
  const job = async () => {
    const created = await admin.request(`/v1/nodes/${t.nodeId}/selftest`, {
      method: 'POST',
      json: { marker: 'bench' },
    });
    if (created.status !== 202) throw new Error(`selftest: ${created.text}`);
    const done = await admin.request(`/v1/operations/${created.body.id}/wait?timeout=30`);
    if (done.body.status !== 'succeeded') throw new Error(`job ended ${done.body.status}`);
  };
  const outbox = t.ctx.hub.app.get(EventsService);
  const org = t.ctx.admin.personalOrgId ?? ORG_PLACEHOLDER;
  const event = (i: number) => outbox.publishAndWait(org, 'bench.tick', { i });
  return [
    { name: 'job round trip', count: jobs, concurrency: 1, one: job },
    { name: 'job round trip', count: jobs * 2, concurrency: 20, one: job },
    { name: 'event via outbox', count: events, concurrency: 1, one: event },
    { name: 'event via outbox', count: events * 2, concurrency: 50, one: event },
  ];
}

async function closeTarget(t: Target | undefined): Promise<void> {
  if (!t) return;
  t.agent.close();
  await t.ctx.close();
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const jobs = ctx.quick ? 20 : 50;
  const events = ctx.quick ? 100 : 500;
  ctx.progress('starting a Redis Cluster (three masters, one replica each) on loopback');
  const cluster = await OwnRedisCluster.start();
  const masters = (await cluster.nodes())
    .filter((n) => n.master)
    .map((n) => new Redis({ host: '127.0.0.1', port: n.port }));
  // A Redis of the run's own too, so that neither side's Redis CPU counts other users of the machine's Redis.
  const ownRedis = await OwnRedis.start();
  const single = new Redis(ownRedis.url);
  let one: Target | undefined;
  let many: Target | undefined;
  try {
    ctx.progress('a hub on one Redis, and a hub on the cluster');
    one = await startTarget(
      'one Redis',
      { HOSTPLANE_REDIS_URL: ownRedis.url },
      [single],
      `hp_bench_one_${Date.now().toString(36)}`,
    );
    many = await startTarget(
      'Redis Cluster',
      { HOSTPLANE_REDIS_URL: cluster.url },
      masters,
      `hp_bench_cluster_${Date.now().toString(36)}`,
    );
    const targets = [one, many];
    const plans = targets.map((t) => paths(t, jobs, events));
    ctx.progress('warm-up');
    for (const [k, t] of targets.entries())
      for (const p of plans[k]!)
        await measure(t.name, 'warm-up', Math.min(p.count, 50), p.concurrency, t.servers, p.one);
    const byTarget: Row[][] = [[], []];
    for (let i = 0; i < plans[0]!.length; i++) {
      for (const [k, t] of targets.entries()) {
        const p = plans[k]![i]!;
        ctx.progress(`${t.name}: ${p.name}, ${p.count} with ${p.concurrency} at a time`);
        byTarget[k]!.push(await measure(t.name, p.name, p.count, p.concurrency, t.servers, p.one));
      }
    }
    const rows = [...byTarget[0]!, ...byTarget[1]!];
    printTable(
      [
        { header: 'Redis', value: (r: Row) => r.target },
        { header: 'path', value: (r: Row) => r.path },
        { header: 'n', value: (r: Row) => r.count },
        { header: 'p50 ms', value: (r: Row) => round(r.p50, 2) },
        { header: 'p99 ms', value: (r: Row) => round(r.p99, 2) },
        { header: 'per s', value: (r: Row) => Math.round(r.perSecond) },
        { header: 'CPU ms/op (hub+agent+client)', value: (r: Row) => round(r.cpuMsPerOp, 3) },
        {
          header: 'Redis CPU ms/op',
          value: (r: Row) => (r.redisCpuMsPerOp === null ? '-' : round(r.redisCpuMsPerOp, 3)),
        },
      ],
      rows,
    );
    const half = rows.length / 2;
    const ratios: Record<string, number> = {};
    for (let i = 0; i < half; i++) {
      const a = rows[i]!;
      const b = rows[i + half]!;
      ratios[`cluster/one p50, ${a.path}`] = ratio(b.p50, a.p50);
      ratios[`cluster/one per s, ${a.path}`] = ratio(b.perSecond, a.perSecond);
      ratios[`cluster/one CPU per op, ${a.path}`] = ratio(b.cpuMsPerOp, a.cpuMsPerOp);
    }
    const measurements: OperationResult[] = rows.map((r) => ({
      label: `${r.target}: ${r.path}`,
      summary: summarize([r.p50, r.p99]),
    }));
    return { measurements, ratios, facts: { jobs, events, node: process.version } };
  } finally {
    await closeTarget(one);
    await closeTarget(many);
    single.disconnect();
    for (const m of masters) m.disconnect();
    await cluster.stop();
    await ownRedis.kill();
  }
}
