import {
  place,
  type PlacementNode,
  type PlacementRequest,
  type PlacementStrategy,
} from '@hostplane/hub/dist/src/scheduler/placement';
import type { BenchContext, BenchReport, OperationResult } from './lib/context';
import { seededRandom, type SeededRandom } from './lib/seed';
import { round, summarize } from './lib/stats';
import { printTable } from './lib/table';

/**
 * `place()` over 10,000 synthetic nodes (pinned seed): statuses, cordons, drivers, labels,
 * capacities and allocations drawn like a mixed fleet, and a pool of requests like a mixed
 * workload. Each call is timed on its own; the target is p99 ≤ 5 ms per placement.
 */

const NODE_COUNT = 10_000;
const REQUEST_POOL = 2_000;
const TARGET_MS = 5;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const REGIONS = ['eu-west', 'eu-central', 'us-east', 'us-west', 'ap-south'];

const pick = <T>(rnd: SeededRandom, list: readonly T[]): T => list[rnd.int(list.length)]!;

/**
 * A UUID-shaped id as a flat string, like the ids pg returns. (Built by concatenation it would
 * be a V8 rope, which makes every id comparison of the tie-break several times slower.)
 */
function uuidLike(rnd: SeededRandom): string {
  const hex = () =>
    Math.floor(rnd.next() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  const a = [hex(), hex(), hex(), hex()].join('');
  return [a.slice(0, 8), a.slice(8, 12), '4' + a.slice(13, 16), '8' + a.slice(17, 20), a.slice(20, 32)].join('-');
}

export function syntheticNodes(seed: number, count = NODE_COUNT): PlacementNode[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const roll = rnd.next();
    const cpu = pick(rnd, [4, 8, 16, 32, 64]);
    const memory = cpu * pick(rnd, [2, 4, 8]) * GiB;
    const disk = pick(rnd, [100, 250, 500, 1000, 2000]) * GiB;
    const fill = () => rnd.next() * 0.95;
    const docker = rnd.next();
    return {
      id: uuidLike(rnd),
      status: roll < 0.96 ? 'online' : roll < 0.99 ? 'offline' : 'pending',
      schedulable: rnd.next() < 0.95,
      drivers: [
        { name: 'process', available: true },
        ...(docker < 0.8
          ? [{ name: 'docker', available: true }]
          : docker < 0.85
            ? [{ name: 'docker', available: false, reason: 'permission denied on /var/run/docker.sock' }]
            : []),
      ],
      labels: {
        region: pick(rnd, REGIONS),
        zone: pick(rnd, ['a', 'b', 'c']),
        tier: rnd.next() < 0.05 ? 'gpu' : pick(rnd, ['standard', 'ssd']),
      },
      capacity: { cpu_cores: cpu, memory_bytes: memory, disk_bytes: disk },
      allocated: {
        cpu_cores: Math.floor(cpu * fill() * 2) / 2,
        memory_bytes: Math.floor(memory * fill()),
        disk_bytes: Math.floor(disk * fill()),
      },
    };
  });
}

export function syntheticRequests(seed: number, constrained: boolean): PlacementRequest[] {
  const rnd = seededRandom(seed + 1);
  return Array.from({ length: REQUEST_POOL }, () => {
    const roll = rnd.next();
    const region = pick(rnd, REGIONS);
    const node_labels: Record<string, string> = constrained
      ? { region, tier: 'gpu', zone: pick(rnd, ['a', 'b', 'c']) }
      : roll < 0.5
        ? {}
        : roll < 0.8
          ? { region }
          : roll < 0.95
            ? { region, tier: 'ssd' }
            : { tier: 'gpu' };
    return {
      driver: rnd.next() < 0.7 ? 'docker' : 'process',
      resources: {
        cpu_cores: pick(rnd, [0.5, 1, 2, 4, 8]),
        memory_bytes: pick(rnd, [512 * MiB, 1 * GiB, 2 * GiB, 4 * GiB, 8 * GiB, 16 * GiB]),
        disk_bytes: pick(rnd, [1, 5, 10, 20, 50]) * GiB,
      },
      node_labels,
    };
  });
}

interface Scenario {
  label: string;
  strategy: PlacementStrategy;
  constrained: boolean;
}

const SCENARIOS: Scenario[] = [
  { label: 'binpack, mixed requests', strategy: 'binpack', constrained: false },
  { label: 'spread, mixed requests', strategy: 'spread', constrained: false },
  { label: 'binpack, ~99% rejected (gpu in one zone)', strategy: 'binpack', constrained: true },
];

export async function run(ctx: BenchContext): Promise<BenchReport> {
  const nodes = syntheticNodes(ctx.seed);
  const warmupMs = ctx.quick ? 300 : 1_000;
  const measureMs = ctx.quick ? 1_000 : 4_000;
  const measurements: OperationResult[] = [];
  const rows: {
    label: string;
    calls: number;
    fitting: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
    cpu: number;
    ok: string;
  }[] = [];
  const facts: Record<string, string | number> = {
    nodes: NODE_COUNT,
    request_pool: REQUEST_POOL,
    rank_limit: 10,
    explain_limit: 25,
    target_p99_ms: TARGET_MS,
    node: process.version,
  };

  for (const s of SCENARIOS) {
    const requests = syntheticRequests(ctx.seed, s.constrained);
    ctx.progress(`${s.label}: ${warmupMs} ms warm-up, ${measureMs} ms measured over ${NODE_COUNT} nodes`);
    let i = 0;
    let fitting = 0;
    const runFor = (ms: number, samples: number[] | null) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        const req = requests[i++ % requests.length]!;
        const t0 = performance.now();
        const result = place(req, nodes, { strategy: s.strategy });
        const dt = performance.now() - t0;
        if (samples) {
          samples.push(dt);
          fitting += result.fitting;
        }
      }
    };
    runFor(warmupMs, null);
    const samples: number[] = [];
    const cpuBefore = process.cpuUsage();
    runFor(measureMs, samples);
    const cpu = process.cpuUsage(cpuBefore);
    const summary = summarize(samples);
    // CPU time per call is what the placement costs; wall-clock percentiles also show the
    // machine's other work (GC, other processes) preempting it.
    const cpuPerCall = (cpu.user + cpu.system) / 1000 / summary.count;
    facts[`cpu_ms_per_call ${s.label}`] = round(cpuPerCall, 3);
    measurements.push({ label: `place() ${s.label}`, summary });
    rows.push({
      label: s.label,
      calls: summary.count,
      fitting: Math.round(fitting / summary.count),
      p50: round(summary.p50, 3),
      p90: round(summary.p90, 3),
      p99: round(summary.p99, 3),
      max: round(summary.max, 2),
      cpu: round(cpuPerCall, 3),
      ok: summary.p99 <= TARGET_MS ? 'yes' : 'NO',
    });
    await new Promise((r) => setImmediate(r));
  }

  printTable(
    [
      { header: 'scenario (10,000 nodes)', value: (r) => r.label },
      { header: 'calls', value: (r) => r.calls },
      { header: 'avg fitting', value: (r) => r.fitting },
      { header: 'p50 ms', value: (r) => r.p50.toFixed(3), align: 'right' },
      { header: 'p90 ms', value: (r) => r.p90.toFixed(3), align: 'right' },
      { header: 'p99 ms', value: (r) => r.p99.toFixed(3), align: 'right' },
      { header: 'max ms', value: (r) => r.max.toFixed(2), align: 'right' },
      { header: 'cpu ms/call', value: (r) => r.cpu.toFixed(3), align: 'right' },
      { header: `p99 ≤ ${TARGET_MS} ms`, value: (r) => r.ok },
    ],
    rows,
  );
  return { measurements, facts };
}
