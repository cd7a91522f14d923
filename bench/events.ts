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
  /** Fan-out runs on the same subscribers: a light one first, then the one the targets are about. */
  fanoutRuns: { eventsPerSecond: number; seconds: number }[];
  /** After publishing: wait for the stragglers until nothing arrived for quietMs, at most maxMs. */
  settle: { quietMs: number; maxMs: number };
}

const FULL: Shape = {
  warmupOperations: 30,
  waitRuns: [
    { inFlight: 1, operations: 300 },
    { inFlight: 50, operations: 1_000 },
  ],
  subscribers: 1_000,
  fanoutRuns: [
    { eventsPerSecond: 10, seconds: 10 },
    { eventsPerSecond: 100, seconds: 25 },
  ],
  settle: { quietMs: 10_000, maxMs: 60_000 },
};
const QUICK: Shape = {
  warmupOperations: 5,
  waitRuns: [
    { inFlight: 1, operations: 30 },
    { inFlight: 20, operations: 60 },
  ],
  subscribers: 100,
  fanoutRuns: [
    { eventsPerSecond: 10, seconds: 2 },
    { eventsPerSecond: 100, seconds: 3 },
  ],
  settle: { quietMs: 1_000, maxMs: 10_000 },
};

/** The agent holds each job this long after the wait was sent, so the wait is parked when it finishes. */
const HOLD_MS = 25;
const EVENT_TYPE = 'bench.tick';
const HUB_ENV: Record<string, string> = { HOSTPLANE_LOG_LEVEL: 'warn' };

interface FanoutResult extends FanoutTally {
  label: string;
  eventsPerSecond: number;
  seconds: number;
  publish: PublishRun;
  /** Publish stamp → received, every delivery of the run. */
  delayMs: SampleSummary;
  /** Publish through settling: the hub's CPU, Redis', this process's. */
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
  if (ownFiles !== null && ownFiles < needFiles)
    throw new Error(`events: this process may open ${ownFiles} files but ${needFiles} are needed: raise ulimit -n`);

  ctx.progress('starting the hub (with the benchmark publisher route) on a throwaway database');
  const hub = await startBenchHub({ entry: join(__dirname, 'events-hub-server.js'), env: HUB_ENV });
  const client = new HubClient(hub.url, 256);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const pg = new Client({ connectionString: adminUrl });
  const open: { agent?: SimAgent; feed?: CompletionFeed; pool?: SubscriberPool; monitor?: ResourceMonitor } = {};
  try {
    const hubFiles = openFilesLimit(hub.pid);
    if (hubFiles !== null && hubFiles < needFiles)
      throw new Error(`events: the hub may open ${hubFiles} files but ${needFiles} are needed: raise ulimit -n`);
    await redis.connect();
    await pg.connect();
    const admin = await bootstrapAdmin(client, 'Events bench');
    open.monitor = new ResourceMonitor(hub.pid, redis, pg, hub.database);

    // Part 1: wait latency, on one simulated agent whose jobs finish when the probe says.
    const { token } = await client.expect(201, '/v1/nodes/register-token', { json: { max_uses: 1, expires_in: 600 } });
    const node = await client.expect(201, '/v1/agents/register', {
      json: { token, hostname: 'wait-probe', os: 'linux', arch: 'x64', agent_version: 'sim' },
    });
    const probe = new WaitProbe(client, node.node_id as string, HOLD_MS);
    open.agent = new SimAgent({
      hubUrl: hub.url,
      token: node.agent_token as string,
      hostname: 'wait-probe',
      onJob: (job) => probe.onJob(job),
    });
    await open.agent.connect(30_000);
    open.feed = await CompletionFeed.open(hub.url, admin.accessToken, (id, status, at) =>
      probe.onCompleted(id, status, at),
    );
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
    const fanouts = await measureFanout(ctx, hub, client, admin, shape, open);

    printWaitTable(waits);
    process.stdout.write(
      [
        `finished = the agent sends job:result (each job is held ${HOLD_MS} ms after its wait was sent, so the wait is parked); wait = its GET /v1/operations/{id}/wait answered;`,
        'event = operation.completed on /v1/ws/subscribe; finished_at lag = Date.now() at the answer − the finished_at it returns (whole ms); parked = wait sent → finished.',
        '',
        '',
      ].join('\n'),
    );
    printFanoutTable(fanouts);
    process.stdout.write(
      [
        'delay = the hub stamps CLOCK_MONOTONIC right before EventsService.publish (XADD) → a subscriber here reads it on receive;',
        `undelivered = (published + failed) × subscribers − distinct received once nothing arrived for ${shape.settle.quietMs / 1000} s (or ${shape.settle.maxMs / 1000} s passed): lost, or still queued in the hub;`,
        'failed = XADDs the hub gave up on (its Redis command timeout, 2 s, fired while its loop stalled; the event may still have been written);',
        'took s = how long the hub took to publish them all (longer than s: its event loop was too busy to publish on time, and delay then understates the lag; cut short at 3 × s).',
        'hub cpu% = of one core from the first publish until settled (µs/delivery: its CPU per event delivered); RSS idle / connected / max = before the subscribers, after they connected, highest during the run.',
        '',
      ].join('\n'),
    );
    return report(waits, fanouts, shape);
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
): Promise<FanoutResult[]> {
  const clockCheck = await checkSharedClock(client);
  const hubRssBeforeBytes = processMemory(hub.pid)?.rssBytes ?? null;
  ctx.progress(`fan-out: connecting ${shape.subscribers} subscribers (50 handshakes at a time)`);
  const connectStarted = performance.now();
  const pool = await SubscriberPool.open(hub.url, admin.accessToken, EVENT_TYPE, shape.subscribers);
  open.pool = pool;
  const connectSeconds = round((performance.now() - connectStarted) / 1000, 1);
  await new Promise((r) => setTimeout(r, 1000));
  const hubRssConnectedBytes = processMemory(hub.pid)?.rssBytes ?? null;

  const results: FanoutResult[] = [];
  for (const [run, { eventsPerSecond, seconds }] of shape.fanoutRuns.entries()) {
    ctx.progress(`fan-out: ${eventsPerSecond} events/s for ${seconds} s to ${shape.subscribers} subscribers`);
    pool.beginRun(run, Math.round(eventsPerSecond * seconds));
    await hubMetrics(client); // resets the hub's event-loop lag histogram
    const begin = await open.monitor!.begin();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, processMemory(hub.pid)?.rssBytes ?? 0)), 500);
    let publish: PublishRun;
    try {
      publish = await publishRun(client, {
        org_id: admin.orgId,
        run,
        type: EVENT_TYPE,
        per_second: eventsPerSecond,
        seconds,
      });
      ctx.progress(
        `fan-out: published ${publish.published} (${publish.failed} failed) in ${publish.seconds.toFixed(1)} s; settling`,
      );
      await pool.settle(publish.published + publish.failed, shape.settle.quietMs, shape.settle.maxMs);
    } finally {
      clearInterval(sampler);
    }
    const resources = await open.monitor!.usage(begin);
    const metrics = await hubMetrics(client);
    const s = summarize(pool.delays());
    results.push({
      label: `${shape.subscribers} subscribers, ${eventsPerSecond} events/s`,
      ...pool.tally(publish.published + publish.failed),
      eventsPerSecond,
      seconds,
      publish,
      delayMs: {
        count: s.count,
        mean: round(s.mean, 3),
        min: round(s.min, 3),
        p50: round(s.p50, 3),
        p90: round(s.p90, 3),
        p99: round(s.p99, 3),
        max: round(s.max, 3),
      },
      resources,
      hubRssBeforeBytes,
      hubRssConnectedBytes,
      hubRssMaxBytes: rssMax || null,
      hubLoopDelayP99Ms: loopDelay(metrics.get('hostplane_hub_nodejs_eventloop_lag_p99_seconds')),
      hubLoopDelayMaxMs: loopDelay(metrics.get('hostplane_hub_nodejs_eventloop_lag_max_seconds')),
      connectSeconds,
      clockCheck,
    });
  }
  return results;
}

/**
 * Starts a publishing run in the hub and polls it until done. Polls that fail (the hub's loop
 * stalled past a socket timeout) are retried: the run goes on in the hub regardless.
 */
async function publishRun(
  client: HubClient,
  body: { org_id: string; run: number; type: string; per_second: number; seconds: number },
): Promise<PublishRun> {
  await client.expect(202, '/bench/events/publish', { json: body });
  const giveUpAt = performance.now() + body.seconds * 3000 + 120_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const res = await client.request(`/bench/events/publish/${body.run}`).catch(() => null);
    if (res?.status === 200 && (res.body as PublishRun).done) return res.body as PublishRun;
    if (performance.now() > giveUpAt)
      throw new Error(
        `events: publishing run ${body.run} did not finish within ${Math.round(body.seconds * 3 + 120)} s`,
      );
  }
}

/** The hub's monotonic clock must read between two of ours around the request, or delays are meaningless. */
async function checkSharedClock(client: HubClient): Promise<string> {
  const before = monotonicMicros();
  const { now_us: theirs } = (await client.expect(200, '/bench/events/clock')) as { now_us: number };
  const after = monotonicMicros();
  if (theirs < before || theirs > after)
    throw new Error(
      `events: the hub's monotonic clock (${theirs} µs) is not between ours (${before}..${after} µs): delays across processes cannot be measured`,
    );
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
      {
        header: 'took s',
        value: (r) => `${round(r.publish.seconds, 1)}${r.publish.cutShort ? ' (cut short)' : ''}`,
        align: 'right',
      },
      { header: 'published', value: (r) => r.publish.published },
      { header: 'failed', value: (r) => r.publish.failed },
      { header: 'deliveries', value: (r) => r.delivered },
      { header: 'undelivered', value: (r) => r.undelivered },
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

function report(waits: WaitLatencyResult[], fanouts: FanoutResult[], shape: Shape): BenchReport {
  const measurements: (OperationResult & Record<string, unknown>)[] = [
    ...waits.map((w) => ({ ...w, label: `wait answered after finish, ${w.label}`, summary: w.waitMs })),
    ...fanouts.map((f) => ({ ...f, label: `fan-out delivery delay, ${f.label}`, summary: f.delayMs })),
  ];
  const ratios: Record<string, number> = {};
  const single = waits.find((w) => w.inFlight === 1);
  if (single && single.eventMs.p50 > 0)
    ratios['wait/event p50 (1 in flight)'] = round(single.waitMs.p50 / single.eventMs.p50, 2);
  for (const f of fanouts) {
    const perDelivery = hubCpuPerDelivery(f);
    if (perDelivery !== null) ratios[`hub cpu µs per delivery at ${f.eventsPerSecond} events/s`] = perDelivery;
  }
  const first = fanouts[0];
  if (first?.hubRssConnectedBytes && first.hubRssBeforeBytes)
    ratios['hub RSS KB per subscriber'] = round(
      (first.hubRssConnectedBytes - first.hubRssBeforeBytes) / 1024 / first.subscribers,
      1,
    );
  const facts: Record<string, string | number> = {
    holdMs: HOLD_MS,
    subscribers: shape.subscribers,
    fanoutRuns: shape.fanoutRuns.map((r) => `${r.eventsPerSecond}/s × ${r.seconds} s`).join(', '),
    settle: `quiet ${shape.settle.quietMs} ms, at most ${shape.settle.maxMs} ms`,
    clock: `${first?.clockCheck ?? '-'}; stamps are CLOCK_MONOTONIC µs (process.hrtime), shared by the hub child and this process`,
    hubEnv: Object.entries(HUB_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  };
  for (const pkg of ['ws', 'ioredis', 'socket.io']) facts[pkg] = packageVersion(pkg);
  return { measurements, ratios, facts };
}
