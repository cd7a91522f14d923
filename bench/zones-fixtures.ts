import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processCpuSeconds } from './lib/proc';
import { round, summarize, type SampleSummary } from './lib/stats';

/**
 * The simulated zoneadm's state file (apps/agent/test/sim-tools/lib/zones.cjs) with `count`
 * zones of a fleet host: 60% running, 30% installed, 10% configured, lipkg and bhyve mixed.
 * Written directly: making 500 zones through zonecfg and zoneadm would take minutes of tool starts.
 */
export function seedSimZones(sim: string, count: number): void {
  mkdirSync(sim, { recursive: true });
  const zones: Record<string, unknown> = {};
  let nextId = 1;
  for (let i = 0; i < count; i++) {
    const name = `web${String(i).padStart(4, '0')}`;
    const state = i % 10 < 6 ? 'running' : i % 10 < 9 ? 'installed' : 'configured';
    const brand = i % 4 === 0 ? 'bhyve' : 'lipkg';
    zones[name] = {
      name,
      state,
      id: state === 'running' ? nextId++ : null,
      uuid: state === 'configured' ? null : `6f1c${String(i).padStart(4, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`,
      props: { zonepath: join(sim, 'zones', name), brand, 'ip-type': 'exclusive', autoboot: 'false' },
      resources: { 'capped-memory': [{ physical: '1G' }], net: [{ physical: `${name.replace('web', 'vnic')}0` }] },
    };
  }
  writeFileSync(join(sim, 'zones.json'), JSON.stringify({ zones, nextId }));
}

/** User + system CPU seconds of a process and of the children it has waited for (the tools it ran). */
export function treeCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

export interface ClosedLoopResult {
  label: string;
  concurrency: number;
  requests: number;
  failures: number;
  reqPerSec: number;
  latency: SampleSummary;
  /**
   * CPU milliseconds per request of each process watched (its waited-for children included where
   * asked), less what the process uses idle (heartbeats, inventory, sweeps) over the same time.
   */
  cpuMsPerRequest: Record<string, number | null>;
}

/** CPU seconds per wall second of each watched process while nothing is asked of it. */
export async function idleCpuRates(watch: Watched[], seconds: number): Promise<Record<string, number>> {
  const before = watch.map(cpuOf);
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - start) / 1000;
  const after = watch.map(cpuOf);
  return Object.fromEntries(watch.map((w, i) => [w.name, ((after[i] ?? 0) - (before[i] ?? 0)) / wall]));
}

function cpuOf(w: Watched): number | null {
  return w.withChildren ? treeCpuSeconds(w.pid) : processCpuSeconds(w.pid);
}

export interface Watched {
  name: string;
  pid: number;
  withChildren?: boolean;
}

/**
 * `concurrency` lanes each sending the next request as soon as the last answered, for `seconds`
 * after a warm-up of `warmupSeconds` whose figures are dropped. `send(i)` answers whether request
 * number i succeeded.
 */
export async function closedLoop(o: {
  label: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  send: (i: number) => Promise<boolean>;
  watch: Watched[];
  idle?: Record<string, number>;
}): Promise<ClosedLoopResult> {
  let counter = 0;
  const lanes = async (until: number, samples: number[] | null, failed: { n: number }) => {
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          const ok = await o.send(counter++).catch(() => false);
          if (!ok) failed.n++;
          samples?.push(performance.now() - t);
        }
      }),
    );
  };
  await lanes(performance.now() + o.warmupSeconds * 1000, null, { n: 0 });
  const before = o.watch.map(cpuOf);
  const samples: number[] = [];
  const failed = { n: 0 };
  const start = performance.now();
  await lanes(start + o.seconds * 1000, samples, failed);
  const wall = (performance.now() - start) / 1000;
  const after = o.watch.map(cpuOf);
  const cpuMsPerRequest: Record<string, number | null> = {};
  o.watch.forEach((w, i) => {
    const b = before[i];
    const a = after[i];
    cpuMsPerRequest[w.name] =
      b !== null && b !== undefined && a !== null && a !== undefined && samples.length
        ? round(((a - b - (o.idle?.[w.name] ?? 0) * wall) * 1000) / samples.length, 2)
        : null;
  });
  const latency = summarize(samples);
  return {
    label: o.label,
    concurrency: o.concurrency,
    requests: samples.length,
    failures: failed.n,
    reqPerSec: round(samples.length / wall, 1),
    latency: {
      ...latency,
      mean: round(latency.mean, 1),
      p50: round(latency.p50, 1),
      p90: round(latency.p90, 1),
      p99: round(latency.p99, 1),
      max: round(latency.max, 1),
    },
    cpuMsPerRequest,
  };
}

/** Runs a command to its end and answers whether it exited 0 (the direct baseline: the tool without the hub). */
export function runTool(argv: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.resume();
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}
