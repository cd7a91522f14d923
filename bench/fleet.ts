import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { CompletionFeed } from './lib/event-feed';
import { Fleet, FleetNode } from './lib/fleet-agents';
import { BenchHub, adminUrl, redisUrl, startBenchHub } from './lib/hub';
import { boundedAll, HubClient } from './lib/hub-client';
import { hubMetrics, loopDelay } from './lib/hub-metrics';
import { JobLoad, JobLoadResult } from './lib/job-load';
import { packageVersion } from './lib/package-version';
import { openFilesLimit, processMemory, tcpConnectionsByRemotePort } from './lib/proc';
import { ResourceMonitor, ResourceUsage } from './lib/resources';
import { round } from './lib/stats';
import { formatNumber, printTable } from './lib/table';

/**
 * Issue 4's fleet simulator. One process opens N SimAgent connections to the real hub (child
 * process, throwaway database and Redis prefix) and answers their jobs. Two parts:
 *
 * - jobs: self-test jobs through the whole path with 1 and with 100 agents, first one job in
 *   flight (latency), then 200 in flight spread over the agents (throughput);
 * - scale: 1,000, 5,000 and 10,000 agents connected and heartbeating every 10 s, doing nothing
 *   else: hub RSS and CPU over a steady-state window, its Redis connections, connect time.
 */

interface Shape {
  nodes: number;
  jobAgents: number[];
  inFlight: number[];
  warmupSeconds: number;
  durationSeconds: number;
  scaleSteps: number[];
  /** After the last welcome of a step: every agent has heartbeated again and idle Workers closed. */
  settleSeconds: number;
  windowSeconds: number;
  probeSeconds: number;
  /** Agent handshakes in flight at once while connecting. */
  connectWindow: number;
}

const FULL: Shape = {
  nodes: 10_000,
  jobAgents: [1, 100],
  inFlight: [1, 200],
  warmupSeconds: 3,
  durationSeconds: 10,
  scaleSteps: [1_000, 5_000, 10_000],
  settleSeconds: 12,
  windowSeconds: 20,
  probeSeconds: 3,
  connectWindow: 500,
};

const QUICK: Shape = {
  nodes: 500,
  jobAgents: [1, 100],
  inFlight: [1, 200],
  warmupSeconds: 1,
  durationSeconds: 2,
  scaleSteps: [200, 500],
  settleSeconds: 2,
  windowSeconds: 2,
  probeSeconds: 1,
  connectWindow: 500,
};

const HEARTBEAT_SECONDS = 10;
const HUB_ENV: Record<string, string> = {
  HOSTPLANE_AGENT_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
  // The config schema's ceiling (10,000,000 per 60 s window): the limiter runs, never rejects.
  HOSTPLANE_RATE_LIMIT_MAX: '10000000',
  HOSTPLANE_RATE_LIMIT_AUTH_MAX: '10000000',
  HOSTPLANE_DATABASE_POOL_SIZE: '40',
  HOSTPLANE_LOG_LEVEL: 'warn',
};
const REGISTER_CONCURRENCY = 32;
const JOB_TIMEOUT_MS = 30_000;
const MAX_REGISTRATIONS_PER_TOKEN = 10_000;
const REDIS_PORT = Number(new URL(redisUrl).port || 6379);
const PG_PORT = Number(new URL(adminUrl).port || 5432);

const TARGETS = { p50Ms: 3, p99Ms: 15, jobsPerSec: 3_000, agents: 10_000, rssBytes: 1.5 * 1024 ** 3 };

interface JobStep extends JobLoadResult {
  resources: ResourceUsage;
  /** The hub's own TCP connections to Redis at the end of the run (Workers hold one each). */
  hubRedisConnections: number | null;
  activeWorkers: number | null;
}

interface ScaleStep {
  agents: number;
  /** Wall time spent connecting every agent up to this step, 500 handshakes at a time (from the first agent). */
  connectSeconds: number;
  /** Welcomes per second while connecting this step's new agents. */
  connectRate: number;
  connectFailures: number;
  /** CPU while this step's agents connected: who limits the welcome rate. */
  connectResources: ResourceUsage;
  /** Sessions the hub itself counts (GET /v1/tunnel/stats). */
  hubConnectedAgents: number | null;
  hubRssBytes: number | null;
  hubRssMaxBytes: number | null;
  hubPeakRssBytes: number | null;
  hubHeapUsedBytes: number | null;
  hubExternalBytes: number | null;
  /** The hub's event-loop delay over the window beyond prom-client's 10 ms sampling interval. */
  hubLoopDelayP99Ms: number | null;
  hubLoopDelayMaxMs: number | null;
  resources: ResourceUsage;
  hubRedisConnections: number | null;
  hubPostgresConnections: number | null;
  redisClientsDelta: number | null;
  activeWorkers: number | null;
  simRssBytes: number;
  droppedAgents: number;
  probe: JobLoadResult;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  const ownFiles = openFilesLimit(process.pid);
  const needFiles = Math.max(...shape.scaleSteps) + 500;
  if (ownFiles !== null && ownFiles < needFiles)
    throw new Error(`fleet: this process may open ${ownFiles} files but ${needFiles} are needed: raise ulimit -n`);

  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const pg = new Client({ connectionString: adminUrl });
  await pg.connect();
  const redisBaseline = await connectedClients(redis);

  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub({ env: HUB_ENV }).catch(async (err: unknown) => {
    redis.disconnect();
    await pg.end();
    throw err;
  });
  const hubFiles = openFilesLimit(hub.pid);
  const client = new HubClient(hub.url, 256);
  const fleetHolder: { fleet?: Fleet; feed?: CompletionFeed; monitor?: ResourceMonitor } = {};
  try {
    if (hubFiles !== null && hubFiles < needFiles)
      throw new Error(`fleet: the hub may open ${hubFiles} files but ${needFiles} are needed: raise ulimit -n`);
    const { accessToken, nodes, registerSeconds } = await setUp(ctx, client, shape.nodes);
    client.headers.authorization = `Bearer ${accessToken}`;

    const load = new JobLoad(client);
    const feed = await CompletionFeed.open(hub.url, accessToken, (id, status, at) => load.onCompleted(id, status, at));
    fleetHolder.feed = feed;
    const fleet = new Fleet(hub.url, nodes);
    fleetHolder.fleet = fleet;
    fleet.onJobFrame((job, at) => load.onJobFrame(job, at));
    const monitor = new ResourceMonitor(hub.pid, redis, pg, hub.database);
    fleetHolder.monitor = monitor;

    let connectSeconds = 0;
    const jobSteps: JobStep[] = [];
    for (const agents of shape.jobAgents) {
      ctx.progress(`jobs: connecting ${agents} agent${agents > 1 ? 's' : ''}`);
      const c = await fleet.connectUpTo(agents, shape.connectWindow);
      connectSeconds += c.seconds;
      if (c.failed) throw new Error(`fleet: ${c.failed} of ${agents} agents got no welcome: ${c.failures.join('; ')}`);
      for (const inFlight of shape.inFlight) {
        ctx.progress(
          `jobs: ${agents} agent(s), ${inFlight} in flight: ${shape.warmupSeconds} s warm-up, ${shape.durationSeconds} s measured`,
        );
        jobSteps.push(
          await measureJobs(
            load,
            monitor,
            hub,
            client,
            nodes.slice(0, agents),
            inFlight,
            shape,
            `${agents} agent${agents > 1 ? 's' : ''}, ${inFlight} in flight`,
          ),
        );
      }
    }

    const scaleSteps: ScaleStep[] = [];
    for (const agents of shape.scaleSteps) {
      const before = fleet.size;
      ctx.progress(`scale: connecting agents ${before + 1}..${agents}, ${shape.connectWindow} handshakes at a time`);
      const connectBegin = await monitor.begin();
      const c = await fleet.connectUpTo(agents, shape.connectWindow, (done) => {
        if ((before + done) % 2000 === 0) ctx.progress(`scale: ${before + done} agents welcomed`);
      });
      const connectResources = await monitor.usage(connectBegin);
      connectSeconds += c.seconds;
      if (c.failed) ctx.progress(`scale: ${c.failed} agents got no welcome (${c.failures.join('; ')})`);
      scaleSteps.push(
        await measureScale(ctx, {
          agents,
          hub,
          client,
          redis,
          redisBaseline,
          monitor,
          fleet,
          load,
          nodes,
          shape,
          connectSeconds,
          connect: c,
          connectResources,
          added: agents - before,
        }),
      );
    }
    const teardown = await disconnectFleet(ctx, fleet, client);

    printJobTable(jobSteps);
    process.stdout.write(
      [
        'rt = POST /selftest sent → operation.completed event received; to agent = POST sent → job frame at the agent; 202 = POST sent → its 202.',
        'Latency targets apply to the 1-in-flight rows (at 200 in flight latency is in-flight ÷ jobs/s); ms/job = CPU ms per completed job.',
        '',
        '',
      ].join('\n'),
    );
    printScaleTable(scaleSteps);
    process.stdout.write(
      [
        "connect s = wall time to welcome every agent so far (500 handshakes in flight); cpu% connecting = during this step's connects.",
        `RSS = max VmRSS over the window; loop delay = hub event-loop delay beyond the 10 ms sampling interval; probe = one job in flight after the window.`,
        "hub redis conns = the hub's own sockets to Redis; held by idle Workers = BullMQ Workers still open with empty queues (one blocking connection each).",
        '',
        '',
      ].join('\n'),
    );
    const verdicts = targetVerdicts(jobSteps, scaleSteps);
    printTable(
      [
        { header: 'target', value: (r) => r.target },
        { header: 'measured', value: (r) => r.measured, align: 'right' },
        { header: 'verdict', value: (r) => r.verdict },
        { header: 'where', value: (r) => r.where },
      ],
      verdicts,
    );
    return report(jobSteps, scaleSteps, verdicts, {
      registerSeconds,
      hubFiles,
      ownFiles,
      redisBaseline,
      shape,
      nodes: nodes.length,
      teardown,
    });
  } finally {
    fleetHolder.fleet?.closeAll();
    fleetHolder.feed?.close();
    fleetHolder.monitor?.close();
    client.close();
    ctx.progress('stopping the hub and dropping its database');
    await hub.close();
    redis.disconnect();
    await pg.end();
  }
}

/** First admin and organization, one registration token, `count` nodes registered concurrently. */
async function setUp(
  ctx: BenchContext,
  client: HubClient,
  count: number,
): Promise<{ accessToken: string; nodes: FleetNode[]; registerSeconds: number }> {
  if (count > MAX_REGISTRATIONS_PER_TOKEN)
    throw new Error(`fleet: a registration token allows at most ${MAX_REGISTRATIONS_PER_TOKEN} uses`);
  const secret = randomBytes(8).toString('hex');
  const admin = await client.expect(201, '/v1/auth/bootstrap', {
    json: {
      email: `fleet-${secret}@bench.invalid`,
      password: `Lamp-${secret}-Orbit`,
      organization_name: 'Fleet bench',
    },
  });
  const auth = { authorization: `Bearer ${admin.access_token}`, 'x-org-id': admin.organization.id as string };
  const { token } = await client.expect(201, '/v1/nodes/register-token', {
    json: { max_uses: count, expires_in: 3600 },
    headers: auth,
  });
  client.headers['x-org-id'] = admin.organization.id;
  ctx.progress(`registering ${count} nodes, ${REGISTER_CONCURRENCY} at a time`);
  const started = performance.now();
  const nodes = await boundedAll(count, REGISTER_CONCURRENCY, async (i) => {
    const hostname = `sim-${String(i).padStart(5, '0')}`;
    const r = await client.expect(201, '/v1/agents/register', {
      json: { token, hostname, os: 'linux', arch: 'x64', agent_version: 'sim' },
    });
    if ((i + 1) % 2500 === 0) ctx.progress(`registered ${i + 1} nodes`);
    return { nodeId: r.node_id as string, agentToken: r.agent_token as string, hostname };
  });
  const registerSeconds = (performance.now() - started) / 1000;
  ctx.progress(`registered ${count} nodes in ${registerSeconds.toFixed(1)} s`);
  return { accessToken: admin.access_token, nodes, registerSeconds };
}

async function measureJobs(
  load: JobLoad,
  monitor: ResourceMonitor,
  hub: BenchHub,
  client: HubClient,
  nodes: FleetNode[],
  inFlight: number,
  shape: Pick<Shape, 'warmupSeconds' | 'durationSeconds'>,
  label: string,
): Promise<JobStep> {
  let begin: ReturnType<ResourceMonitor['begin']> | undefined;
  let usage: Promise<ResourceUsage> | undefined;
  const result = await load.run({
    label,
    nodeIds: nodes.map((n) => n.nodeId),
    inFlight,
    warmupSeconds: shape.warmupSeconds,
    durationSeconds: shape.durationSeconds,
    timeoutMs: JOB_TIMEOUT_MS,
    onWindow: (phase) => {
      if (phase === 'start') begin = monitor.begin();
      else usage = begin!.then((b) => monitor.usage(b));
    },
  });
  const stats = await tunnelStats(client);
  return {
    ...result,
    resources: await usage!,
    hubRedisConnections: tcpConnectionsByRemotePort(hub.pid)?.get(REDIS_PORT) ?? null,
    activeWorkers: stats?.active_job_workers ?? null,
  };
}

interface ScaleInputs {
  agents: number;
  hub: BenchHub;
  client: HubClient;
  redis: Redis;
  redisBaseline: number | null;
  monitor: ResourceMonitor;
  fleet: Fleet;
  load: JobLoad;
  nodes: FleetNode[];
  shape: Shape;
  connectSeconds: number;
  connect: { seconds: number; failed: number };
  connectResources: ResourceUsage;
  added: number;
}

async function measureScale(ctx: BenchContext, s: ScaleInputs): Promise<ScaleStep> {
  const { agents, hub, client, shape } = s;
  // Steady state: every agent has heartbeated since connecting, and the Workers the job runs
  // or the previous probe started have gone idle and closed (2 × stalled interval).
  ctx.progress(`scale ${agents}: settling ${shape.settleSeconds} s, then waiting for idle job Workers to close`);
  await sleep(shape.settleSeconds * 1000);
  const idleBy = performance.now() + 45_000;
  while ((await tunnelStats(client))?.active_job_workers && performance.now() < idleBy) await sleep(1000);

  const dropsBefore = s.fleet.disconnects;
  ctx.progress(`scale ${agents}: ${shape.windowSeconds} s measured window`);
  await hubMetrics(client); // resets the hub's event-loop lag histogram
  const begin = await s.monitor.begin();
  let rssMax = 0;
  const windowEnd = performance.now() + shape.windowSeconds * 1000;
  while (performance.now() < windowEnd) {
    await sleep(Math.min(1000, Math.max(0, windowEnd - performance.now())));
    rssMax = Math.max(rssMax, processMemory(hub.pid)?.rssBytes ?? 0);
  }
  const resources = await s.monitor.usage(begin);
  const memory = processMemory(hub.pid);
  const metrics = await hubMetrics(client);
  const sockets = tcpConnectionsByRemotePort(hub.pid);
  const clients = await connectedClients(s.redis);
  const stats = await tunnelStats(client);
  const droppedAgents = s.fleet.disconnects - dropsBefore;

  ctx.progress(`scale ${agents}: ${shape.probeSeconds} s latency probe (one job in flight)`);
  const probe = await s.load.run({
    label: `${agents} agents connected, 1 in flight`,
    nodeIds: [s.nodes[0]!.nodeId],
    inFlight: 1,
    warmupSeconds: 1,
    durationSeconds: shape.probeSeconds,
    timeoutMs: JOB_TIMEOUT_MS,
  });

  return {
    agents,
    connectSeconds: round(s.connectSeconds, 1),
    connectRate: round(s.added / s.connect.seconds, 0),
    connectFailures: s.connect.failed,
    connectResources: s.connectResources,
    hubConnectedAgents: stats?.connected_agents ?? null,
    hubRssBytes: memory?.rssBytes ?? null,
    hubRssMaxBytes: rssMax || null,
    hubPeakRssBytes: memory?.peakRssBytes ?? null,
    hubHeapUsedBytes: metrics.get('hostplane_hub_nodejs_heap_size_used_bytes') ?? null,
    hubExternalBytes: metrics.get('hostplane_hub_nodejs_external_memory_bytes') ?? null,
    hubLoopDelayP99Ms: loopDelay(metrics.get('hostplane_hub_nodejs_eventloop_lag_p99_seconds')),
    hubLoopDelayMaxMs: loopDelay(metrics.get('hostplane_hub_nodejs_eventloop_lag_max_seconds')),
    resources,
    hubRedisConnections: sockets?.get(REDIS_PORT) ?? null,
    hubPostgresConnections: sockets?.get(PG_PORT) ?? null,
    redisClientsDelta: clients !== null && s.redisBaseline !== null ? clients - s.redisBaseline : null,
    activeWorkers: stats?.active_job_workers ?? null,
    simRssBytes: process.memoryUsage().rss,
    droppedAgents,
    probe,
  };
}

/**
 * Closes the agents 1,000 at a time, each batch once the hub has registered the previous one
 * leaving (bounded): ten thousand disconnects at once would be a storm of offline writes for
 * the hub to drain while it shuts down.
 */
async function disconnectFleet(
  ctx: BenchContext,
  fleet: Fleet,
  client: HubClient,
): Promise<{ agents: number; seconds: number }> {
  const agents = fleet.connectedCount();
  ctx.progress(`disconnecting ${agents} agents, 1,000 at a time`);
  const started = performance.now();
  for (let left = agents; left > 0;) {
    left = fleet.closeSome(1000);
    const by = performance.now() + 10_000;
    while (performance.now() < by && ((await tunnelStats(client))?.connected_agents ?? 0) > left) await sleep(200);
  }
  return { agents, seconds: round((performance.now() - started) / 1000, 1) };
}

async function tunnelStats(
  client: HubClient,
): Promise<{ connected_agents: number; active_job_workers: number } | null> {
  const res = await client.request('/v1/tunnel/stats');
  return res.status === 200 ? res.body : null;
}

async function connectedClients(redis: Redis): Promise<number | null> {
  const info = await redis.info('clients');
  const m = /^connected_clients:(\d+)/m.exec(info);
  return m ? Number(m[1]) : null;
}

interface Verdict {
  target: string;
  measured: string;
  verdict: 'met' | 'missed' | 'not measured';
  where: string;
}

function targetVerdicts(jobs: JobStep[], scale: ScaleStep[]): Verdict[] {
  const latency = jobs.find((j) => j.agents === 100 && j.inFlight === 1) ?? jobs.find((j) => j.inFlight === 1);
  const single = jobs.find((j) => j.agents === 1 && j.inFlight === 1);
  const throughput = jobs.find((j) => j.agents === 100 && j.inFlight > 1);
  const biggest = scale[scale.length - 1];
  const v = (ok: boolean | undefined): Verdict['verdict'] =>
    ok === undefined ? 'not measured' : ok ? 'met' : 'missed';
  const rows: Verdict[] = [];
  for (const j of [single, latency].filter((x, i, a): x is JobStep => x !== undefined && a.indexOf(x) === i)) {
    rows.push({
      target: `round trip p50 ≤ ${TARGETS.p50Ms} ms`,
      measured: `${formatNumber(j.roundTripMs.p50)} ms`,
      verdict: v(j.roundTripMs.p50 <= TARGETS.p50Ms),
      where: j.label,
    });
    rows.push({
      target: `round trip p99 ≤ ${TARGETS.p99Ms} ms`,
      measured: `${formatNumber(j.roundTripMs.p99)} ms`,
      verdict: v(j.roundTripMs.p99 <= TARGETS.p99Ms),
      where: j.label,
    });
  }
  rows.push({
    target: `≥ ${formatNumber(TARGETS.jobsPerSec)} jobs/s over 100 agents`,
    measured: throughput ? `${formatNumber(throughput.jobsPerSec)} jobs/s` : '-',
    verdict: v(throughput && throughput.jobsPerSec >= TARGETS.jobsPerSec),
    where: throughput?.label ?? '-',
  });
  const reached =
    biggest && biggest.agents >= TARGETS.agents && biggest.connectFailures === 0 && biggest.droppedAgents === 0;
  rows.push({
    target: `${formatNumber(TARGETS.agents)} agents, hub RSS ≤ 1.5 GB`,
    measured: biggest ? `${formatNumber(biggest.agents)} agents, ${mb(biggest.hubRssMaxBytes)} MB` : '-',
    verdict:
      biggest && biggest.agents < TARGETS.agents
        ? 'not measured'
        : v(reached && (biggest!.hubRssMaxBytes ?? Infinity) <= TARGETS.rssBytes),
    where: biggest ? `max VmRSS over the ${biggest.resources.seconds} s window` : '-',
  });
  return rows;
}

function mb(bytes: number | null): number | null {
  return bytes === null ? null : Math.round(bytes / 2 ** 20);
}

function printJobTable(steps: JobStep[]): void {
  const met = (ok: boolean) => (ok ? 'met' : 'missed');
  printTable<JobStep>(
    [
      { header: 'jobs', value: (r) => r.label },
      { header: 'jobs/s', value: (r) => r.jobsPerSec },
      { header: '±', value: (r) => r.jobsPerSecStddev },
      { header: 'rt p50 ms', value: (r) => r.roundTripMs.p50 },
      { header: 'p90', value: (r) => r.roundTripMs.p90 },
      { header: 'p99', value: (r) => r.roundTripMs.p99 },
      { header: 'max', value: (r) => r.roundTripMs.max },
      { header: 'to agent p50', value: (r) => r.toAgentMs.p50 },
      { header: 'p99', value: (r) => r.toAgentMs.p99 },
      { header: '202 p50', value: (r) => r.acceptedMs.p50 },
      { header: 'failed', value: (r) => Object.values(r.failures).reduce((a, b) => a + b, 0) },
      { header: 'hub cpu%', value: (r) => r.resources.hubCpuPercent },
      { header: 'ms/job', value: (r) => perJob(r.resources.hubCpuPercent, r.jobsPerSec) },
      { header: 'pg cpu%', value: (r) => r.resources.postgresCpuPercent },
      { header: 'ms/job', value: (r) => perJob(r.resources.postgresCpuPercent, r.jobsPerSec) },
      { header: 'redis cpu%', value: (r) => r.resources.redisCpuPercent },
      { header: 'sim cpu%', value: (r) => r.resources.simCpuPercent },
      { header: 'others cpu%', value: (r) => r.resources.otherCpuPercent },
      { header: 'hub redis conns', value: (r) => r.hubRedisConnections },
      { header: 'p50≤3', value: (r) => (r.inFlight === 1 ? met(r.roundTripMs.p50 <= TARGETS.p50Ms) : '') },
      { header: 'p99≤15', value: (r) => (r.inFlight === 1 ? met(r.roundTripMs.p99 <= TARGETS.p99Ms) : '') },
      {
        header: '≥3000/s',
        value: (r) => (r.agents === 100 && r.inFlight > 1 ? met(r.jobsPerSec >= TARGETS.jobsPerSec) : ''),
      },
    ],
    steps,
  );
}

/** CPU milliseconds per job from a cpu% (of one core) and a job rate. */
function perJob(cpuPercent: number | null, jobsPerSec: number): number | null {
  return cpuPercent === null || jobsPerSec <= 0 ? null : round((cpuPercent * 10) / jobsPerSec, 2);
}

function printScaleTable(steps: ScaleStep[]): void {
  printTable<ScaleStep>(
    [
      { header: 'agents', value: (r) => formatNumber(r.agents), align: 'right' },
      { header: 'connect s', value: (r) => r.connectSeconds },
      { header: 'welcomes/s', value: (r) => r.connectRate },
      { header: 'hub cpu% connecting', value: (r) => r.connectResources.hubCpuPercent },
      { header: 'sim', value: (r) => r.connectResources.simCpuPercent },
      { header: 'pg', value: (r) => r.connectResources.postgresCpuPercent },
      { header: 'hub RSS MB', value: (r) => mb(r.hubRssMaxBytes) },
      { header: 'peak MB', value: (r) => mb(r.hubPeakRssBytes) },
      { header: 'heap MB', value: (r) => mb(r.hubHeapUsedBytes) },
      { header: 'hub cpu%', value: (r) => r.resources.hubCpuPercent },
      { header: 'loop delay p99', value: (r) => r.hubLoopDelayP99Ms },
      { header: 'max', value: (r) => r.hubLoopDelayMaxMs },
      { header: 'pg cpu%', value: (r) => r.resources.postgresCpuPercent },
      { header: 'redis cpu%', value: (r) => r.resources.redisCpuPercent },
      { header: 'hub redis conns', value: (r) => r.hubRedisConnections },
      { header: 'held by idle Workers', value: (r) => r.activeWorkers },
      { header: 'clients Δ', value: (r) => r.redisClientsDelta },
      { header: 'sim cpu%', value: (r) => r.resources.simCpuPercent },
      { header: 'others cpu%', value: (r) => r.resources.otherCpuPercent },
      { header: 'sim RSS MB', value: (r) => mb(r.simRssBytes) },
      { header: 'dropped', value: (r) => r.droppedAgents + r.connectFailures },
      { header: 'probe p50 ms', value: (r) => r.probe.roundTripMs.p50 },
      { header: 'p99', value: (r) => r.probe.roundTripMs.p99 },
      {
        header: 'RSS≤1.5GB',
        value: (r) => (r.hubRssMaxBytes === null ? '-' : r.hubRssMaxBytes <= TARGETS.rssBytes ? 'met' : 'missed'),
      },
    ],
    steps,
  );
}

function report(
  jobs: JobStep[],
  scale: ScaleStep[],
  verdicts: Verdict[],
  extra: {
    registerSeconds: number;
    hubFiles: number | null;
    ownFiles: number | null;
    redisBaseline: number | null;
    shape: Shape;
    nodes: number;
    teardown: { agents: number; seconds: number };
  },
): BenchReport {
  const measurements: (OperationResult & Record<string, unknown>)[] = [
    ...jobs.map((j) => ({ ...j, summary: j.roundTripMs })),
    ...scale.map((s) => ({
      ...s,
      label: `${s.agents} agents heartbeating every ${HEARTBEAT_SECONDS} s`,
      summary: s.probe.roundTripMs,
    })),
  ];
  const throughput = jobs.find((j) => j.agents === 100 && j.inFlight > 1);
  const single = jobs.find((j) => j.agents === 1 && j.inFlight > 1);
  const ratios: Record<string, number> = {};
  if (throughput && single && single.jobsPerSec > 0)
    ratios['100 agents/1 agent jobs/s'] = round(throughput.jobsPerSec / single.jobsPerSec, 2);
  const last = scale[scale.length - 1];
  if (last?.hubRssMaxBytes && last.agents > 0)
    ratios['hub RSS KB per agent (largest step)'] = round(last.hubRssMaxBytes / 1024 / last.agents, 1);
  const facts: Record<string, string | number> = {
    nodesRegistered: extra.nodes,
    registerSeconds: round(extra.registerSeconds, 1),
    heartbeatSeconds: HEARTBEAT_SECONDS,
    connectWindow: extra.shape.connectWindow,
    settleSeconds: extra.shape.settleSeconds,
    windowSeconds: extra.shape.windowSeconds,
    hubEnv: Object.entries(HUB_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    hubOpenFilesLimit: extra.hubFiles ?? 'unknown',
    simOpenFilesLimit: extra.ownFiles ?? 'unknown',
    redisClientsBeforeHub: extra.redisBaseline ?? 'unknown',
    disconnectSeconds: extra.teardown.seconds,
    disconnectedAgents: extra.teardown.agents,
    simulator: 'one process, one event loop: SimAgent (apps/hub/test/support/sim-agent.ts) per node',
    targets: verdicts.map((v) => `${v.target}: ${v.verdict} (${v.measured}, ${v.where})`).join('; '),
  };
  for (const pkg of ['socket.io', 'socket.io-client', 'engine.io', 'bullmq', 'ioredis', 'pg', 'ws'])
    facts[pkg] = packageVersion(pkg);
  return { measurements, ratios, facts };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
