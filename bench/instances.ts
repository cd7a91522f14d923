import Redis from 'ioredis';
import { Client } from 'pg';
import { bootstrapAdmin } from './lib/bootstrap';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { hubConsole, LocalDriver, pipeConsole } from './lib/console-endpoints';
import { ConsoleEndpoint, measureBulk, measureKeystrokes } from './lib/console-probe';
import { adminUrl, BenchHub, redisUrl, startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { CYCLE_STEPS, CycleLoad, CycleLoadResult, STEP_PHASES } from './lib/instance-cycles';
import { packageVersion } from './lib/package-version';
import { insertSyntheticNodes, PlacementTiming, timePlace, timeSuggestFit } from './lib/placement-fleet';
import { processCpuSeconds } from './lib/proc';
import { RealAgent } from './lib/real-agent';
import { ResourceMonitor, ResourceUsage } from './lib/resources';
import { seededRandom } from './lib/seed';
import { ratio, round, SampleSummary, summarize } from './lib/stats';
import { formatNumber, printTable } from './lib/table';
import { syntheticNodes, syntheticRequests } from './placement';

/**
 * Instances on one real agent (apps/agent, process driver) connected to the real hub (child
 * process, throwaway database and Redis prefix), in three parts:
 *
 * - cycles: create → start → stop → delete through the API, 50 in flight, with the node's
 *   default job concurrency (4) and with 64;
 * - console: keystroke echo latency and output throughput through the hub's console WebSocket,
 *   against the same driver console in this process (no hub, no tunnel) and a plain pipe;
 * - placement: suggest-fit (the create's placement) over 10,000 synthetic nodes, and place() alone.
 */

interface Shape {
  concurrency: number;
  jobConcurrency: number[];
  warmupSeconds: number;
  durationSeconds: number;
  keystrokes: number;
  bulkBytes: number;
  placementNodes: number;
  placementSeconds: number;
}

const FULL: Shape = {
  concurrency: 50,
  jobConcurrency: [4, 64],
  warmupSeconds: 3,
  durationSeconds: 15,
  keystrokes: 600,
  bulkBytes: 8_000_000,
  placementNodes: 10_000,
  placementSeconds: 6,
};
const QUICK: Shape = {
  concurrency: 5,
  jobConcurrency: [4, 64],
  warmupSeconds: 1,
  durationSeconds: 2,
  keystrokes: 60,
  bulkBytes: 500_000,
  placementNodes: 10_000,
  placementSeconds: 1,
};

const HUB_ENV: Record<string, string> = { HOSTPLANE_LOG_LEVEL: 'warn', HOSTPLANE_DATABASE_POOL_SIZE: '40' };
const AGENT_ENV: Record<string, string> = {
  HOSTPLANE_AGENT_LOG_LEVEL: 'warn',
  HOSTPLANE_AGENT_MAX_CONCURRENT_JOBS: '64',
};
const MiB = 1024 ** 2;
const TYPISTS = 10;
const MAX_GAP_MS = 100;
/** CPU of programs outside the bench (and kernel work) in a quiet run's window was 43–49 % of a core (0013). */
const BUSY_OTHERS_PERCENT = 60;
const BULK_MARKER = 'bulk-done';

const BASE_WORKLOAD = {
  driver: 'process',
  stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 5 },
  restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
};
const WORKLOADS = {
  sleeper: {
    ...BASE_WORKLOAD,
    name: 'bench-sleeper',
    startup: 'exec sleep 3600',
    resources: { cpu_cores: 0.01, memory_bytes: 4 * MiB, disk_bytes: 0 },
  },
  echo: {
    ...BASE_WORKLOAD,
    name: 'bench-echo',
    startup: 'echo ready; exec cat',
    ready_pattern: '^ready$',
    resources: { cpu_cores: 1, memory_bytes: 64 * MiB, disk_bytes: 0 },
  },
  bulk: {
    ...BASE_WORKLOAD,
    name: 'bench-bulk',
    startup: `echo ready; while read -r n; do head -c "$n" /dev/zero | tr '\\0' x; echo; echo ${BULK_MARKER}; done`,
    ready_pattern: '^ready$',
    resources: { cpu_cores: 1, memory_bytes: 64 * MiB, disk_bytes: 0 },
  },
};

interface CycleStepResult extends CycleLoadResult {
  jobConcurrency: number;
  resources: ResourceUsage;
  agentCpuPercent: number | null;
  /**
   * The hub database's committed + rolled back transactions over the window, per step completed in it (autocommit
   * statements count one each).
   */
  pgTransactionsPerStep: number | null;
  /** Rows inserted, updated and deleted, per step. */
  pgRowWritesPerStep: number | null;
}

interface PgCounters {
  transactions: number;
  rowWrites: number;
}

/** pg_stat_database of one database (flushed by backends about once a second: fine over a 15 s window). */
async function pgCounters(pg: Client, database: string): Promise<PgCounters | null> {
  const res = await pg.query<{ x: string; w: string }>(
    'SELECT xact_commit + xact_rollback AS x, tup_inserted + tup_updated + tup_deleted AS w FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  const row = res.rows[0];
  return row ? { transactions: Number(row.x), rowWrites: Number(row.w) } : null;
}

interface ConsoleRow {
  label: string;
  echoMs: SampleSummary;
  inputMs: SampleSummary | null;
  timeouts: number;
  mbPerSec: number | null;
  firstByteMs: number | null;
  bulkBytes: number | null;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub({ env: HUB_ENV });
  const client = new HubClient(hub.url, 256);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const pg = new Client({ connectionString: adminUrl });
  const open: { agent?: RealAgent; monitor?: ResourceMonitor } = {};
  try {
    await redis.connect();
    await pg.connect();
    const admin = await bootstrapAdmin(client, 'Instances bench');
    ctx.progress('registering and starting a real agent');
    const agent = await RealAgent.register(client, hub.url, AGENT_ENV);
    open.agent = agent;
    await agent.start(client);
    open.monitor = new ResourceMonitor(hub.pid, redis, pg, hub.database);
    const workloads: Record<keyof typeof WORKLOADS, string> = { sleeper: '', echo: '', bulk: '' };
    for (const [key, body] of Object.entries(WORKLOADS) as [keyof typeof WORKLOADS, object][])
      workloads[key] = (await client.expect(201, '/v1/workloads', { json: body })).id;

    const cycles = await measureCycles(
      ctx,
      client,
      agent,
      open.monitor,
      { pg, database: hub.database },
      workloads.sleeper,
      shape,
    );
    const consoles = await measureConsoles(ctx, hub, client, agent, admin, workloads, shape);
    const placements = await measurePlacement(ctx, hub, client, shape);

    printCycles(cycles);
    process.stdout.write(
      [
        'cycle = POST /v1/instances (start: false) → POST …/start → POST …/stop → DELETE, each step = its request sent → GET /v1/operations/{id}/wait answered succeeded.',
        'warm-up s = first request → measured window (the warm-up, or until every lane finished its first cycle).',
        'accepted / queued / running / answered p50 = over all steps: request → 202; created_at → started_at (queue); started_at → finished_at (tunnel, agent, driver); finished_at → wait answer.',
        `job conc = the node's job_concurrency (the agent allows 64); workload \`exec sleep 3600\`, SIGTERM on stop. cpu% = of one core over the measured window; ms/step = CPU ms per step completed in it (4 steps a cycle).`,
        '',
        '',
      ].join('\n'),
    );
    printConsoles(consoles);
    process.stdout.write(
      [
        `echo = one byte written → its echo read (${TYPISTS} typists, each waits 0-${MAX_GAP_MS} ms between keys, keys told apart by value); workload \`cat\`.`,
        'in file = byte written → the workload wrote it to its output file (inotify): the input half, without the output file poll; MB/s = a line asking for N bytes → the end marker read.',
        '',
        '',
      ].join('\n'),
    );
    printPlacements(placements);
    process.stdout.write(
      'suggest-fit = POST /v1/planner/suggest-fit, one at a time (the placeInOrg an instance create runs: nodes and allocations read, place(), explained); place() = the pure function on the same nodes.\ncpu ms/call = CPU of the hub (suggest-fit) or of this process (place()) per call.\n',
    );
    return report(cycles, consoles, placements, shape);
  } finally {
    open.monitor?.close();
    ctx.progress('stopping the agent and the hub, dropping the database');
    await open.agent?.close();
    client.close();
    await hub.close();
    redis.disconnect();
    await pg.end().catch(() => undefined);
  }
}

async function measureCycles(
  ctx: BenchContext,
  client: HubClient,
  agent: RealAgent,
  monitor: ResourceMonitor,
  db: { pg: Client; database: string },
  workloadId: string,
  shape: Shape,
): Promise<CycleStepResult[]> {
  const load = new CycleLoad(client);
  const results: CycleStepResult[] = [];
  for (const jobConcurrency of shape.jobConcurrency) {
    const node = await client.expect(200, `/v1/nodes/${agent.nodeId}`);
    if (node.job_concurrency !== jobConcurrency) {
      await client.expect(200, `/v1/nodes/${agent.nodeId}`, {
        method: 'PUT',
        json: { job_concurrency: jobConcurrency },
      });
      // The hub sizes a node's job Worker when it starts it: a reconnect starts a new one.
      ctx.progress(`cycles: job concurrency ${jobConcurrency}, restarting the agent so the hub's Worker picks it up`);
      await agent.stop();
      await agent.start(client);
    }
    ctx.progress(
      `cycles: ${shape.concurrency} in flight, job concurrency ${jobConcurrency}: ${shape.warmupSeconds} s warm-up, ${shape.durationSeconds} s measured`,
    );
    let begin: ReturnType<ResourceMonitor['begin']> | undefined;
    let usage: Promise<ResourceUsage> | undefined;
    let agentAtStart: { cpu: number | null; at: number } = { cpu: null, at: 0 };
    let pgAtStart: Promise<PgCounters | null> = Promise.resolve(null);
    let pgAtEnd: Promise<PgCounters | null> = Promise.resolve(null);
    let agentCpuPercent: number | null = null;
    const result = await load.run({
      label: `${shape.concurrency} in flight, job conc ${jobConcurrency}`,
      workloadId,
      concurrency: shape.concurrency,
      warmupSeconds: shape.warmupSeconds,
      durationSeconds: shape.durationSeconds,
      onWindow: (phase) => {
        const cpu = agent.pid === null ? null : processCpuSeconds(agent.pid);
        if (phase === 'start') {
          begin = monitor.begin();
          agentAtStart = { cpu, at: performance.now() };
          pgAtStart = pgCounters(db.pg, db.database);
        } else {
          usage = begin!.then((b) => monitor.usage(b));
          pgAtEnd = pgCounters(db.pg, db.database);
          const seconds = (performance.now() - agentAtStart.at) / 1000;
          if (cpu !== null && agentAtStart.cpu !== null && seconds > 0)
            agentCpuPercent = round(((cpu - agentAtStart.cpu) / seconds) * 100, 0);
        }
      },
    });
    const [pg0, pg1] = await Promise.all([pgAtStart, pgAtEnd]);
    const perStep = (n: number) =>
      result.stepsPerSec > 0 ? round(n / (result.stepsPerSec * result.durationSeconds), 1) : null;
    results.push({
      ...result,
      jobConcurrency,
      resources: await usage!,
      agentCpuPercent,
      pgTransactionsPerStep: pg0 && pg1 ? perStep(pg1.transactions - pg0.transactions) : null,
      pgRowWritesPerStep: pg0 && pg1 ? perStep(pg1.rowWrites - pg0.rowWrites) : null,
    });
    await waitForNoInstances(client);
  }
  return results;
}

/** Deleted rows go when the agent's answer is applied, just after the wait returns. */
async function waitForNoInstances(client: HubClient): Promise<void> {
  const by = performance.now() + 30_000;
  while (performance.now() < by) {
    if ((await client.expect(200, '/v1/instances?limit=1')).total === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('instances: instances were still listed 30 s after the cycles ended');
}

async function measureConsoles(
  ctx: BenchContext,
  hub: BenchHub,
  client: HubClient,
  agent: RealAgent,
  admin: { accessToken: string; orgId: string },
  workloads: Record<keyof typeof WORKLOADS, string>,
  shape: Shape,
): Promise<ConsoleRow[]> {
  const headers = { authorization: `Bearer ${admin.accessToken}`, 'x-org-id': admin.orgId };
  const random = seededRandom(ctx.seed);
  const echoId = await startInstance(client, 'console-echo', workloads.echo);
  const bulkId = await startInstance(client, 'console-bulk', workloads.bulk);
  const bulkTimeoutMs = (shape.bulkBytes / 1e5) * 1000 + 30_000; // at 100 kB/s, and then some
  const rows: ConsoleRow[] = [];
  const probe = async (
    label: string,
    open: () => Promise<ConsoleEndpoint>,
    outputFile: string | undefined,
    bulk: (() => Promise<ConsoleEndpoint>) | null,
  ) => {
    ctx.progress(
      `console: ${label}: ${shape.keystrokes} keystrokes${bulk ? `, then ${formatNumber(shape.bulkBytes)} bytes of output` : ''}`,
    );
    const keys = await open();
    const k = await measureKeystrokes(keys, {
      samples: shape.keystrokes,
      typists: TYPISTS,
      maxGapMs: MAX_GAP_MS,
      random,
      outputFile,
    }).finally(() => keys.close());
    let b: Awaited<ReturnType<typeof measureBulk>> | null = null;
    if (bulk) {
      const out = await bulk();
      b = await measureBulk(out, shape.bulkBytes, BULK_MARKER, bulkTimeoutMs).finally(() => out.close());
    }
    rows.push({
      label,
      echoMs: ms(k.echoMs),
      inputMs: outputFile ? ms(k.inputMs) : null,
      timeouts: k.timeouts,
      mbPerSec: b ? round(b.mbPerSec, 2) : null,
      firstByteMs: b ? round(b.firstByteMs, 1) : null,
      bulkBytes: b?.bytes ?? null,
    });
  };
  await probe(
    'through the hub (WebSocket → hub → tunnel → agent → driver)',
    () => hubConsole(hub.url, echoId, headers),
    `${agent.instanceDir(echoId)}/logs/output.log`,
    () => hubConsole(hub.url, bulkId, headers),
  );
  const local = new LocalDriver();
  try {
    const echoCopy = await local.startCopy(`${agent.instanceDir(echoId)}/spec.json`);
    const bulkCopy = await local.startCopy(`${agent.instanceDir(bulkId)}/spec.json`);
    await probe(
      'the driver directly (ProcessDriver console in-process)',
      () => local.console(echoCopy),
      local.outputFile(echoCopy),
      () => local.console(bulkCopy),
    );
  } finally {
    await local.close();
  }
  await probe('a pipe to cat (no driver)', async () => pipeConsole(), undefined, null);
  for (const id of [echoId, bulkId]) {
    const del = await client.expect(202, `/v1/instances/${id}`, { method: 'DELETE' });
    await client.expect(200, `/v1/operations/${del.id}/wait?timeout=30`);
  }
  return rows;
}

/** Creates an instance that starts at once and resolves when its start operation succeeded. */
async function startInstance(client: HubClient, name: string, workloadId: string): Promise<string> {
  const created = await client.expect(202, '/v1/instances', { json: { name, workload_id: workloadId } });
  const id = created.instance.id as string;
  const by = performance.now() + 30_000;
  while (performance.now() < by) {
    const i = await client.expect(200, `/v1/instances/${id}`);
    if (i.state === 'running') return id;
    if (i.state === 'failed' || i.state === 'crashed')
      throw new Error(`instance ${name} ${i.state}: ${i.state_reason}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`instance ${name} was not running within 30 s`);
}

async function measurePlacement(
  ctx: BenchContext,
  hub: BenchHub,
  client: HubClient,
  shape: Shape,
): Promise<PlacementTiming[]> {
  const nodes = syntheticNodes(ctx.seed, shape.placementNodes);
  const requests = syntheticRequests(ctx.seed, false);
  const org = await client.expect(201, '/v1/organizations', { json: { name: 'Placement fleet' } });
  const databaseUrl = new URL(adminUrl);
  databaseUrl.pathname = `/${hub.database}`;
  ctx.progress(`placement: writing ${formatNumber(nodes.length)} synthetic nodes`);
  await insertSyntheticNodes(databaseUrl.toString(), org.id as string, nodes);
  // What the database holds: the same nodes without allocations (no instance rows).
  const unallocated = nodes.map((n) => ({ ...n, allocated: { cpu_cores: 0, memory_bytes: 0, disk_bytes: 0 } }));
  ctx.progress(
    `placement: suggest-fit over ${formatNumber(nodes.length)} nodes and over 1, ${shape.placementSeconds} s each`,
  );
  await timeSuggestFit(client, hub.pid, org.id as string, requests, 1, 'warm-up', nodes.length);
  const fleet = await timeSuggestFit(
    client,
    hub.pid,
    org.id as string,
    requests,
    shape.placementSeconds,
    `suggest-fit over ${formatNumber(nodes.length)} nodes`,
    nodes.length,
  );
  const single = await timeSuggestFit(
    client,
    hub.pid,
    client.headers['x-org-id']!,
    requests,
    shape.placementSeconds / 2,
    "suggest-fit over the agent's org (1 node)",
    1,
  );
  timePlace(unallocated, requests, shape.placementSeconds / 3, 'warm-up'); // the first second of calls runs cold (tiering up, GC of the new nodes)
  const pure = timePlace(
    unallocated,
    requests,
    shape.placementSeconds / 2,
    `place() over the same ${formatNumber(nodes.length)}, in-process`,
  );
  // The hub must see the nodes this process places on, or the two rows do not compare.
  const viaHub = await timeSuggestFit(
    client,
    hub.pid,
    org.id as string,
    requests.slice(0, 1),
    0,
    'check',
    nodes.length,
  );
  const here = timePlace(unallocated, requests.slice(0, 1), 0, 'check');
  if (viaHub.avgFitting !== here.avgFitting)
    process.stderr.write(
      `warning: placement: the hub found ${viaHub.avgFitting} fitting nodes for the first request, place() here ${here.avgFitting}\n`,
    );
  return [fleet, single, pure];
}

function ms(values: number[]): SampleSummary {
  const s = summarize(values);
  return {
    count: s.count,
    mean: round(s.mean, 2),
    min: round(s.min, 2),
    p50: round(s.p50, 2),
    p90: round(s.p90, 2),
    p99: round(s.p99, 2),
    max: round(s.max, 2),
  };
}

function printCycles(rows: CycleStepResult[]): void {
  const stepCols = CYCLE_STEPS.flatMap((s) => [
    { header: `${s} p50`, value: (r: CycleStepResult) => r.stepMs[s].p50 },
    { header: 'p99', value: (r: CycleStepResult) => r.stepMs[s].p99 },
  ]);
  printTable<CycleStepResult>(
    [
      { header: 'cycles', value: (r) => r.label },
      { header: 'cycles/s', value: (r) => r.cyclesPerSec },
      { header: '±', value: (r) => r.cyclesPerSecStddev },
      { header: 'steps/s', value: (r) => r.stepsPerSec },
      { header: 'warm-up s', value: (r) => r.warmupTookSeconds },
      { header: 'cycle p50 ms', value: (r) => r.cycleMs.p50 },
      { header: 'p99', value: (r) => r.cycleMs.p99 },
      ...stepCols,
      ...STEP_PHASES.map((phase) => ({ header: `${phase} p50`, value: (r: CycleStepResult) => r.phaseMs[phase].p50 })),
      { header: 'failed', value: (r) => Object.values(r.failures).reduce((a, b) => a + b, 0) },
      { header: 'hub cpu%', value: (r) => r.resources.hubCpuPercent },
      { header: 'ms/step', value: (r) => perStep(r.resources.hubCpuPercent, r.stepsPerSec) },
      { header: 'agent cpu%', value: (r) => r.agentCpuPercent },
      { header: 'ms/step', value: (r) => perStep(r.agentCpuPercent, r.stepsPerSec) },
      { header: 'pg cpu%', value: (r) => r.resources.postgresCpuPercent },
      { header: 'ms/step', value: (r) => perStep(r.resources.postgresCpuPercent, r.stepsPerSec) },
      { header: 'pg xacts/step', value: (r) => r.pgTransactionsPerStep },
      { header: 'rows written', value: (r) => r.pgRowWritesPerStep },
      { header: 'redis cpu%', value: (r) => r.resources.redisCpuPercent },
      { header: 'client cpu%', value: (r) => r.resources.simCpuPercent },
      { header: 'others cpu%', value: (r) => r.resources.otherCpuPercent },
    ],
    rows,
  );
  for (const r of rows) {
    for (const [what, n] of Object.entries(r.failures)) process.stderr.write(`warning: ${r.label}: ${n} × ${what}\n`);
    const others = r.resources.otherCpuPercent;
    // The rate follows the CPU other programs leave (decision 0013, 2026-12-07): a busy machine is not a regression.
    if (others !== null && others > BUSY_OTHERS_PERCENT)
      process.stderr.write(
        `warning: ${r.label}: other programs used ${others}% of a core in the window (over ${BUSY_OTHERS_PERCENT}%; 43–49% in a quiet run): cycles/s and latencies are not comparable with other runs; compare ms/step, or two builds run side by side\n`,
      );
  }
}

/** CPU milliseconds per step from a cpu% (of one core) and a step rate: steadier than either on a shared machine. */
function perStep(cpuPercent: number | null, stepsPerSec: number): number | null {
  return cpuPercent === null || stepsPerSec <= 0 ? null : round((cpuPercent * 10) / stepsPerSec, 1);
}

function printConsoles(rows: ConsoleRow[]): void {
  printTable<ConsoleRow>(
    [
      { header: 'console', value: (r) => r.label },
      { header: 'keys', value: (r) => r.echoMs.count },
      { header: 'echo p50 ms', value: (r) => r.echoMs.p50 },
      { header: 'p90', value: (r) => r.echoMs.p90 },
      { header: 'p99', value: (r) => r.echoMs.p99 },
      { header: 'mean', value: (r) => r.echoMs.mean },
      { header: 'in file p50', value: (r) => r.inputMs?.p50 ?? null },
      { header: 'p99', value: (r) => r.inputMs?.p99 ?? null },
      { header: 'lost keys', value: (r) => r.timeouts },
      { header: 'MB/s', value: (r) => r.mbPerSec },
      { header: 'first byte ms', value: (r) => r.firstByteMs },
    ],
    rows,
  );
}

function printPlacements(rows: PlacementTiming[]): void {
  printTable<PlacementTiming>(
    [
      { header: 'placement', value: (r) => r.label },
      { header: 'calls', value: (r) => r.summary.count },
      { header: 'avg fitting', value: (r) => r.avgFitting },
      { header: 'p50 ms', value: (r) => r.summary.p50 },
      { header: 'p90', value: (r) => r.summary.p90 },
      { header: 'p99', value: (r) => r.summary.p99 },
      { header: 'max', value: (r) => r.summary.max },
      { header: 'cpu ms/call', value: (r) => r.cpuMsPerCall },
    ],
    rows,
  );
}

function report(
  cycles: CycleStepResult[],
  consoles: ConsoleRow[],
  placements: PlacementTiming[],
  shape: Shape,
): BenchReport {
  const measurements: (OperationResult & Record<string, unknown>)[] = [
    ...cycles.map((c) => ({ ...c, label: `instance cycle, ${c.label}`, summary: c.cycleMs })),
    ...consoles.map((c) => ({ ...c, label: `console echo, ${c.label}`, summary: c.echoMs })),
    ...placements.map((p) => ({ ...p, summary: p.summary })),
  ];
  const ratios: Record<string, number> = {};
  const [hubConsoleRow, driverRow] = consoles;
  if (hubConsoleRow && driverRow) {
    ratios['hub − driver echo p50 ms'] = round(hubConsoleRow.echoMs.p50 - driverRow.echoMs.p50, 2);
    ratios['hub − driver echo p99 ms'] = round(hubConsoleRow.echoMs.p99 - driverRow.echoMs.p99, 2);
    ratios['hub − driver echo mean ms'] = round(hubConsoleRow.echoMs.mean - driverRow.echoMs.mean, 2);
    if (hubConsoleRow.inputMs && driverRow.inputMs)
      ratios['hub − driver in-file p50 ms'] = round(hubConsoleRow.inputMs.p50 - driverRow.inputMs.p50, 2);
    if (hubConsoleRow.mbPerSec && driverRow.mbPerSec)
      ratios['hub/driver MB/s'] = ratio(hubConsoleRow.mbPerSec, driverRow.mbPerSec);
  }
  const [fleet, single, pure] = placements;
  if (fleet && pure) ratios['suggest-fit/place() p50 over 10,000 nodes'] = ratio(fleet.summary.p50, pure.summary.p50);
  if (fleet && single) ratios['suggest-fit 10,000/1 node p50'] = ratio(fleet.summary.p50, single.summary.p50);
  const [defaults, raised] = cycles;
  if (defaults && raised && defaults.cyclesPerSec > 0)
    ratios[`cycles/s job conc ${raised.jobConcurrency}/${defaults.jobConcurrency}`] = ratio(
      raised.cyclesPerSec,
      defaults.cyclesPerSec,
    );
  const facts: Record<string, string | number> = {
    concurrency: shape.concurrency,
    warmupSeconds: shape.warmupSeconds,
    durationSeconds: shape.durationSeconds,
    keystrokes: shape.keystrokes,
    typists: TYPISTS,
    maxGapMs: MAX_GAP_MS,
    bulkBytes: shape.bulkBytes,
    placementNodes: shape.placementNodes,
    hubEnv: Object.entries(HUB_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    agentEnv: Object.entries(AGENT_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    workloads: Object.values(WORKLOADS)
      .map((w) => `${w.name}: ${w.startup}`)
      .join(' | '),
  };
  for (const pkg of ['ws', 'socket.io', 'socket.io-client', 'bullmq', 'pg']) facts[pkg] = packageVersion(pkg);
  return { measurements, ratios, facts };
}
