import { join } from 'node:path';
import { SimAgent } from '@hostplane/hub/dist/test/support/sim-agent';
import Redis from 'ioredis';
import { Client } from 'pg';
import type { PublishRun } from './events-hub-server';
import { bootstrapAdmin } from './lib/bootstrap';
import { monotonicMicros } from './lib/clock';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { CompletionFeed } from './lib/event-feed';
import { adminUrl, BenchHub, redisUrl, startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { hubMetrics, loopDelay } from './lib/hub-metrics';
import { packageVersion } from './lib/package-version';
import { openFilesLimit, processMemory } from './lib/proc';
import { ResourceMonitor, ResourceUsage } from './lib/resources';
import { round, SampleSummary, summarize } from './lib/stats';
import { FanoutTally, SubscriberPool } from './lib/subscribers';
import { printTable } from './lib/table';
import { WaitLatencyResult, WaitProbe } from './lib/wait-probe';

/**
 * Two parts, on the real hub (child process, throwaway database and Redis prefix):
 *
 * - wait: how long after a job finishes `GET /v1/operations/{id}/wait` answers (and, beside it,
 *   the `operation.completed` event), with 1 and with 50 operations in flight;
 * - fan-out: N subscribers of `/v1/ws/subscribe` on one hub while the hub publishes a fixed rate
 *   of events through its EventsService: delay from publish to receive, events lost, hub CPU and RSS.
 */

interface Shape {
  warmupOperations: number;
  waitRuns: { inFlight: number; operations: number }[];
  subscribers: number;
  eventsPerSecond: number;
  fanoutSeconds: number;
}

const FULL: Shape = { warmupOperations: 30, waitRuns: [{ inFlight: 1, operations: 300 }, { inFlight: 50, operations: 1_000 }], subscribers: 1_000, eventsPerSecond: 100, fanoutSeconds: 25 };
const QUICK: Shape = { warmupOperations: 5, waitRuns: [{ inFlight: 1, operations: 40 }, { inFlight: 20, operations: 100 }], subscribers: 100, eventsPerSecond: 100, fanoutSeconds: 4 };

/** The agent holds each job this long after the wait was sent, so the wait is parked when it finishes. */
const HOLD_MS = 25;
const EVENT_TYPE = 'bench.tick';
const HUB_ENV: Record<string, string> = { HOSTPLANE_LOG_LEVEL: 'warn' };

interface FanoutResult extends FanoutTally {
  label: string;
  eventsPerSecond: number;
  seconds: number;
  publish: PublishRun;
  delayMs: SampleSummary;
  resources: ResourceUsage;
  hubRssBeforeBytes: number | null;
  hubRssConnectedBytes: number | null;
  hubRssMaxBytes: number | null;
  hubLoopDelayP99Ms: number | null;
  hubLoopDelayMaxMs: number | null;
  connectSeconds: number;
  clockCheck: string;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  const needFiles = shape.subscribers + 200;
  const ownFiles = openFilesLimit(process.pid);
  if (ownFiles !== null && ownFiles < needFiles) throw new Error(`events: this process may open ${ownFiles} files but ${needFiles} are needed: raise ulimit -n`);

  ctx.progress('starting the hub (with the benchmark publisher route) on a throwaway database');
  const hub = await startBenchHub({ entry: join(__dirname, 'events-hub-server.js'), env: HUB_ENV });
  const client = new HubClient(hub.url, 256);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const pg = new Client({ connectionString: adminUrl });
  const open: { agent?: SimAgent; feed?: CompletionFeed; pool?: SubscriberPool; monitor?: ResourceMonitor } = {};
  try {
    const hubFiles = openFilesLimit(hub.pid);
    if (hubFiles !== null && hubFiles < needFiles) throw new Error(`events: the hub may open ${hubFiles} files but ${needFiles} are needed: raise ulimit -n`);
    await redis.connect();
    await pg.connect();
    const admin = await bootstrapAdmin(client, 'Events bench');
    open.monitor = new ResourceMonitor(hub.pid, redis, pg, hub.database);

    // Part 1: wait latency, on one simulated agent whose jobs finish when the probe says.
    const { token } = await client.expect(201, '/v1/nodes/register-token', { json: { max_uses: 1, expires_in: 600 } });
    const node = await client.expect(201, '/v1/agents/register', { json: { token, hostname: 'wait-probe', os: 'linux', arch: 'x64', agent_version: 'sim' } });
    const probe = new WaitProbe(client, node.node_id as string, HOLD_MS);
    open.agent = new SimAgent({ hubUrl: hub.url, token: node.agent_token as string, hostname: 'wait-probe', onJob: (job) => probe.onJob(job) });
    await open.agent.connect(30_000);
    open.feed = await CompletionFeed.open(hub.url, admin.accessToken, (id, status, at) => probe.onCompleted(id, status, at));
    ctx.progress(`wait: ${shape.warmupOperations} warm-up operations`);
    await probe.run('warm-up', shape.warmupOperations, 1);
    const waits: WaitLatencyResult[] = [];
    for (const r of shape.waitRuns) {
      ctx.progress(`wait: ${r.operations} operations, ${r.inFlight} in flight`);
      waits.push(await probe.run(`${r.inFlight} in flight`, r.operations, r.inFlight));
    }
    open.feed.close();
    open.agent.close();

    // Part 2: fan-out.
    const fanout = await measureFanout(ctx, hub, client, admin, shape, open);

    printWaitTable(waits);
    process.stdout.write(
      [
        `finished = the agent sends job:result (each job is held ${HOLD_MS} ms after its wait was sent, so the wait is parked); wait = its GET /v1/operations/{id}/wait answered;`,
        'event = operation.completed on /v1/ws/subscribe; finished_at lag = Date.now() at the answer − the finished_at it returns (whole ms); parked = wait sent → finished.',
        '',
        '',
      ].join('\n'),
    );
    printFanoutTable([fanout]);
    process.stdout.write(
      [
        'delay = the hub stamps CLOCK_MONOTONIC right before EventsService.publish (XADD) → a subscriber here reads it on receive; lost = expected − distinct received;',
        'took s = how long the hub took to publish them all (longer than s: its event loop was too busy to publish on time, and delay then understates the lag; cut short at 3 × s).',
        'hub cpu% = of one core over the publish window (µs/delivery: its CPU per event delivered); RSS idle / connected / max = before the subscribers, after they connected, highest during the window.',
        '',
      ].join('\n'),
    );
    return report(waits, fanout, shape);
  } finally {
    open.pool?.close();
    open.feed?.close();
    open.agent?.close();
    open.monitor?.close();
    client.close();
    ctx.progress('stopping the hub and dropping its database');
    await hub.close();
    redis.disconnect();
    await pg.end().catch(() => undefined);
  }
}

async function measureFanout(
  ctx: BenchContext,
  hub: BenchHub,
  client: HubClient,
  admin: { accessToken: string; orgId: string },
  shape: Shape,
  open: { pool?: SubscriberPool; monitor?: ResourceMonitor },
): Promise<FanoutResult> {
  const clockCheck = await checkSharedClock(client);
  const total = Math.round(shape.eventsPerSecond * shape.fanoutSeconds);
  const hubRssBeforeBytes = processMemory(hub.pid)?.rssBytes ?? null;
  ctx.progress(`fan-out: connecting ${shape.subscribers} subscribers (50 handshakes at a time)`);
  const connectStarted = performance.now();
  const pool = await SubscriberPool.open(hub.url, admin.accessToken, EVENT_TYPE, shape.subscribers, total);
  open.pool = pool;
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const hubRssConnectedBytes = processMemory(hub.pid)?.rssBytes ?? null;

  ctx.progress(`fan-out: ${shape.eventsPerSecond} events/s for ${shape.fanoutSeconds} s to ${shape.subscribers} subscribers`);
  await hubMetrics(client); // resets the hub's event-loop lag histogram
  const begin = await open.monitor!.begin();
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, processMemory(hub.pid)?.rssBytes ?? 0)), 500);
  let publish: PublishRun;
  try {
    publish = await client.expect(200, '/bench/events/publish', { json: { org_id: admin.orgId, type: EVENT_TYPE, per_second: shape.eventsPerSecond, seconds: shape.fanoutSeconds } });
    await pool.settle(publish.published, 2_000, 20_000);
  } finally {
    clearInterval(sampler);
  }
  const resources = await open.monitor!.usage(begin);
  const metrics = await hubMetrics(client);
  const tally = pool.tally(publish.published);
  const delays = pool.delays.subarray(0, pool.count);
  const s = summarize(delays);
  return {
    label: `${shape.subscribers} subscribers, ${shape.eventsPerSecond} events/s`,
    ...tally,
    eventsPerSecond: shape.eventsPerSecond,
    seconds: shape.fanoutSeconds,
    publish,
    delayMs: { count: s.count, mean: round(s.mean, 3), min: round(s.min, 3), p50: round(s.p50, 3), p90: round(s.p90, 3), p99: round(s.p99, 3), max: round(s.max, 3) },
    resources,
    hubRssBeforeBytes,
    hubRssConnectedBytes,
    hubRssMaxBytes: rssMax || null,
    hubLoopDelayP99Ms: loopDelay(metrics.get('hostplane_hub_nodejs_eventloop_lag_p99_seconds')),
    hubLoopDelayMaxMs: loopDelay(metrics.get('hostplane_hub_nodejs_eventloop_lag_max_seconds')),
    connectSeconds: round(connectSeconds, 1),
    clockCheck,
  };
}

/** The hub's monotonic clock must read between two of ours around the request, or delays are meaningless. */
async function checkSharedClock(client: HubClient): Promise<string> {
  const before = monotonicMicros();
  const { now_us: theirs } = (await client.expect(200, '/bench/events/clock')) as { now_us: number };
  const after = monotonicMicros();
  if (theirs < before || theirs > after) throw new Error(`events: the hub's monotonic clock (${theirs} µs) is not between ours (${before}..${after} µs): delays across processes cannot be measured`);
  return `hub clock within ${after - before} µs round trip`;
}

/** The hub's CPU over the window per event delivered to a subscriber, in µs. */
function hubCpuPerDelivery(r: FanoutResult): number | null {
  const pct = r.resources.hubCpuPercent;
  return pct === null || r.delivered === 0 ? null : round(((pct / 100) * r.resources.seconds * 1e6) / r.delivered, 1);
}

function mb(bytes: number | null): number | null {
  return bytes === null ? null : Math.round(bytes / 2 ** 20);
}

function printWaitTable(rows: WaitLatencyResult[]): void {
  const failed = (r: WaitLatencyResult) => Object.values(r.failures).reduce((a, b) => a + b, 0);
  printTable<WaitLatencyResult>(
    [
      { header: 'operations', value: (r) => r.label },
      { header: 'n', value: (r) => r.waitMs.count },
      { header: 'wait p50 ms', value: (r) => r.waitMs.p50 },
      { header: 'p90', value: (r) => r.waitMs.p90 },
      { header: 'p99', value: (r) => r.waitMs.p99 },
      { header: 'max', value: (r) => r.waitMs.max },
      { header: 'event p50', value: (r) => r.eventMs.p50 },
      { header: 'p99', value: (r) => r.eventMs.p99 },
      { header: 'finished_at lag p50', value: (r) => r.finishedAtLagMs.p50 },
      { header: 'p99', value: (r) => r.finishedAtLagMs.p99 },
      { header: 'parked p50', value: (r) => r.parkedMs.p50 },
      { header: 'failed', value: failed },
      { header: 's', value: (r) => r.seconds },
    ],
    rows,
  );
}

function printFanoutTable(rows: FanoutResult[]): void {
  printTable<FanoutResult>(
    [
      { header: 'fan-out', value: (r) => r.label },
      { header: 's', value: (r) => r.seconds },
      { header: 'took s', value: (r) => `${round(r.publish.seconds, 1)}${r.publish.cutShort ? ' (cut short)' : ''}`, align: 'right' },
      { header: 'published', value: (r) => r.publish.published },
      { header: 'deliveries', value: (r) => r.delivered },
      { header: 'lost', value: (r) => r.lost },
      { header: 'dup', value: (r) => r.duplicates },
      { header: 'reordered', value: (r) => r.outOfOrder },
      { header: 'closed', value: (r) => Object.values(r.closedByHub).reduce((a, b) => a + b, 0) },
      { header: 'delay p50 ms', value: (r) => r.delayMs.p50 },
      { header: 'p90', value: (r) => r.delayMs.p90 },
      { header: 'p99', value: (r) => r.delayMs.p99 },
      { header: 'max', value: (r) => r.delayMs.max },
      { header: 'hub cpu%', value: (r) => r.resources.hubCpuPercent },
      { header: 'µs/delivery', value: hubCpuPerDelivery },
      { header: 'hub RSS MB idle', value: (r) => mb(r.hubRssBeforeBytes) },
      { header: 'connected', value: (r) => mb(r.hubRssConnectedBytes) },
      { header: 'max', value: (r) => mb(r.hubRssMaxBytes) },
      { header: 'loop delay p99', value: (r) => r.hubLoopDelayP99Ms },
      { header: 'max', value: (r) => r.hubLoopDelayMaxMs },
      { header: 'redis cpu%', value: (r) => r.resources.redisCpuPercent },
      { header: 'client cpu%', value: (r) => r.resources.simCpuPercent },
      { header: 'others cpu%', value: (r) => r.resources.otherCpuPercent },
      { header: 'connect s', value: (r) => r.connectSeconds },
    ],
    rows,
  );
}

function report(waits: WaitLatencyResult[], fanout: FanoutResult, shape: Shape): BenchReport {
  const measurements: (OperationResult & Record<string, unknown>)[] = [
    ...waits.map((w) => ({ ...w, label: `wait answered after finish, ${w.label}`, summary: w.waitMs })),
    { ...fanout, label: `fan-out delivery delay, ${fanout.label}`, summary: fanout.delayMs },
  ];
  const ratios: Record<string, number> = {};
  const single = waits.find((w) => w.inFlight === 1);
  if (single && single.eventMs.p50 > 0) ratios['wait/event p50 (1 in flight)'] = round(single.waitMs.p50 / single.eventMs.p50, 2);
  const perDelivery = hubCpuPerDelivery(fanout);
  if (perDelivery !== null) ratios['hub cpu µs per delivery'] = perDelivery;
  if (fanout.hubRssConnectedBytes !== null && fanout.hubRssBeforeBytes !== null) ratios['hub RSS KB per subscriber'] = round((fanout.hubRssConnectedBytes - fanout.hubRssBeforeBytes) / 1024 / fanout.subscribers, 1);
  const facts: Record<string, string | number> = {
    holdMs: HOLD_MS,
    subscribers: shape.subscribers,
    eventsPerSecond: shape.eventsPerSecond,
    fanoutSeconds: shape.fanoutSeconds,
    clock: `${fanout.clockCheck}; stamps are CLOCK_MONOTONIC µs (process.hrtime), shared by the hub child and this process`,
    hubEnv: Object.entries(HUB_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    publishLate: fanout.publish.late,
  };
  for (const pkg of ['ws', 'ioredis', 'socket.io']) facts[pkg] = packageVersion(pkg);
  return { measurements, ratios, facts };
}
