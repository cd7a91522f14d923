import { bootstrapAdmin } from './lib/bootstrap';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { hubConsole } from './lib/console-endpoints';
import { measureBulk, measureKeystrokes } from './lib/console-probe';
import { startBenchHub } from './lib/hub';
import { HubClient } from './lib/hub-client';
import { processCpuSeconds } from './lib/proc';
import { RealAgent } from './lib/real-agent';
import { seededRandom } from './lib/seed';
import { round, SampleSummary, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * Consoles through the hub on both drivers: one real agent (apps/agent, process and docker
 * drivers) on the real hub, a user's console WebSocket → hub → tunnel → agent → driver and back.
 * Keystroke echo latency (a `cat` workload; the docker console is a tty, so there the tty's own
 * echo answers) and output throughput (a workload printing N bytes on request), with the CPU
 * the hub and the agent spend per MB of output. The same file runs on older checkouts, so the
 * figures of two commits compare side by side.
 */

interface Shape {
  keystrokes: number;
  bulkBytes: number;
}

const FULL: Shape = { keystrokes: 400, bulkBytes: 8_000_000 };
const QUICK: Shape = { keystrokes: 60, bulkBytes: 500_000 };
const HUB_ENV: Record<string, string> = { HOSTPLANE_LOG_LEVEL: 'warn' };
const AGENT_ENV: Record<string, string> = {
  HOSTPLANE_AGENT_LOG_LEVEL: 'warn',
  HOSTPLANE_AGENT_DOCKER_SOCKET: process.env.HOSTPLANE_BENCH_DOCKER_SOCKET ?? '/var/run/docker.sock',
};
const MiB = 1024 ** 2;
const TYPISTS = 10;
const MAX_GAP_MS = 100;
const BULK_MARKER = 'bulk-done';
/** Imported locally by scripts/services.sh (busybox: its applets are called through `busybox`). */
const IMAGE = 'hostplane/busybox:test';

function workloads(driver: 'process' | 'docker') {
  const base = {
    driver,
    ...(driver === 'docker' ? { image: IMAGE } : {}),
    stop: { type: 'signal', value: 'SIGKILL', grace_seconds: 1 },
    restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
    ready_pattern: '^ready',
    resources: { cpu_cores: 1, memory_bytes: 64 * MiB, disk_bytes: 0 },
  };
  const tool = driver === 'docker' ? 'busybox ' : '';
  return {
    echo: { ...base, name: `bench-echo-${driver}`, startup: 'echo ready; exec cat' },
    bulk: {
      ...base,
      name: `bench-bulk-${driver}`,
      startup: `echo ready; while read -r n; do ${tool}head -c "$n" /dev/zero | ${tool}tr '\\0' x; echo; echo ${BULK_MARKER}; done`,
    },
  };
}

interface ConsoleRow {
  label: string;
  echoMs: SampleSummary;
  timeouts: number;
  mbPerSec: number;
  firstByteMs: number;
  hubCpuMsPerMb: number | null;
  agentCpuMsPerMb: number | null;
}

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const shape = ctx.quick ? QUICK : FULL;
  ctx.progress('starting the hub on a throwaway database');
  const hub = await startBenchHub({ env: HUB_ENV });
  const client = new HubClient(hub.url, 16);
  let agent: RealAgent | undefined;
  try {
    const admin = await bootstrapAdmin(client, 'Consoles bench');
    const headers = { authorization: `Bearer ${admin.accessToken}`, 'x-org-id': admin.orgId };
    ctx.progress('registering and starting a real agent (process and docker drivers)');
    agent = await RealAgent.register(client, hub.url, AGENT_ENV);
    await agent.start(client);
    const random = seededRandom(ctx.seed);
    const rows: ConsoleRow[] = [];
    for (const driver of ['process', 'docker'] as const) {
      const w = workloads(driver);
      const echoWorkload = (await client.expect(201, '/v1/workloads', { json: w.echo })).id as string;
      const bulkWorkload = (await client.expect(201, '/v1/workloads', { json: w.bulk })).id as string;
      const echoId = await startInstance(client, `echo-${driver}`, echoWorkload);
      const bulkId = await startInstance(client, `bulk-${driver}`, bulkWorkload);
      ctx.progress(`${driver}: ${shape.keystrokes} keystrokes, then ${shape.bulkBytes} bytes of output`);
      const keys = await hubConsole(hub.url, echoId, headers);
      // The docker console attaches to a tty: give the attach a moment before the first key.
      await new Promise((r) => setTimeout(r, 300));
      const k = await measureKeystrokes(keys, {
        samples: shape.keystrokes,
        typists: TYPISTS,
        maxGapMs: MAX_GAP_MS,
        random,
      }).finally(() => keys.close());
      const out = await hubConsole(hub.url, bulkId, headers);
      await new Promise((r) => setTimeout(r, 300));
      const cpu0 = { hub: processCpuSeconds(hub.pid), agent: agent.pid === null ? null : processCpuSeconds(agent.pid) };
      const b = await measureBulk(out, shape.bulkBytes, BULK_MARKER, (shape.bulkBytes / 1e5) * 1000 + 30_000).finally(
        () => out.close(),
      );
      const cpu1 = { hub: processCpuSeconds(hub.pid), agent: agent.pid === null ? null : processCpuSeconds(agent.pid) };
      const perMb = (a: number | null, z: number | null) =>
        a === null || z === null ? null : round(((z - a) * 1000) / (b.bytes / 1e6), 1);
      rows.push({
        label: `${driver} driver, through the hub`,
        echoMs: ms(k.echoMs),
        timeouts: k.timeouts,
        mbPerSec: round(b.mbPerSec, 2),
        firstByteMs: round(b.firstByteMs, 1),
        hubCpuMsPerMb: perMb(cpu0.hub, cpu1.hub),
        agentCpuMsPerMb: perMb(cpu0.agent, cpu1.agent),
      });
      for (const id of [echoId, bulkId]) {
        const del = await client.expect(202, `/v1/instances/${id}`, { method: 'DELETE' });
        await client.expect(200, `/v1/operations/${del.id}/wait?timeout=30`);
      }
    }
    printTable<ConsoleRow>(
      [
        { header: 'console', value: (r) => r.label },
        { header: 'keys', value: (r) => r.echoMs.count },
        { header: 'echo p50 ms', value: (r) => r.echoMs.p50 },
        { header: 'p90', value: (r) => r.echoMs.p90 },
        { header: 'p99', value: (r) => r.echoMs.p99 },
        { header: 'mean', value: (r) => r.echoMs.mean },
        { header: 'lost keys', value: (r) => r.timeouts },
        { header: 'MB/s', value: (r) => r.mbPerSec },
        { header: 'first byte ms', value: (r) => r.firstByteMs },
        { header: 'hub cpu ms/MB', value: (r) => r.hubCpuMsPerMb },
        { header: 'agent cpu ms/MB', value: (r) => r.agentCpuMsPerMb },
      ],
      rows,
    );
    process.stdout.write(
      [
        `echo = one byte written on the console WebSocket → its echo read (${TYPISTS} typists, each waits 0-${MAX_GAP_MS} ms between keys); process: \`cat\` echoes, docker: the container's tty echoes.`,
        'MB/s = a line asking for N bytes → the end marker read; cpu ms/MB = CPU of the hub and of the agent over that transfer, per MB.',
        '',
      ].join('\n'),
    );
    const measurements: OperationResult[] = rows.map((r) => ({ label: `console echo, ${r.label}`, summary: r.echoMs }));
    const ratios: Record<string, number> = {};
    const [p, d] = rows;
    if (p && d) {
      ratios['docker/process echo p50'] = round(d.echoMs.p50 / Math.max(p.echoMs.p50, 0.001), 2);
      ratios['docker/process MB/s'] = round(d.mbPerSec / Math.max(p.mbPerSec, 0.001), 2);
    }
    const facts: Record<string, string | number> = { keystrokes: shape.keystrokes, bulk_bytes: shape.bulkBytes };
    for (const r of rows) {
      facts[`${r.label}: MB/s`] = r.mbPerSec;
      facts[`${r.label}: echo p99 ms`] = r.echoMs.p99;
    }
    return { measurements, ratios, facts };
  } finally {
    ctx.progress('stopping the agent and the hub, dropping the database');
    await agent?.close();
    client.close();
    await hub.close();
  }
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

/** Creates an instance that starts at once and resolves when it runs. */
async function startInstance(client: HubClient, name: string, workloadId: string): Promise<string> {
  const created = await client.expect(202, '/v1/instances', { json: { name, workload_id: workloadId } });
  const id = created.instance.id as string;
  const by = performance.now() + 60_000;
  while (performance.now() < by) {
    const i = await client.expect(200, `/v1/instances/${id}`);
    if (i.state === 'running') return id;
    if (i.state === 'failed' || i.state === 'crashed')
      throw new Error(`instance ${name} ${i.state}: ${i.state_reason}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`instance ${name} was not running within 60 s`);
}
