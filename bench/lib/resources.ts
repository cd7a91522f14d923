import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type Redis from 'ioredis';
import type { Client } from 'pg';
import { machineBusyPercent, machineCpuSample, MachineCpuSample, processCpuSeconds } from './proc';
import { round } from './stats';

/** CPU used over a window by each party, in percent of one core (machine: of all cores). */
export interface ResourceUsage {
  seconds: number;
  hubCpuPercent: number | null;
  /** This process: the simulated agents, the API client and the event feed. */
  simCpuPercent: number;
  /** redis-server as a whole (INFO cpu): other users of the same Redis count too. */
  redisCpuPercent: number | null;
  /** The hub's PostgreSQL backends (its pool's connections to its own database). */
  postgresCpuPercent: number | null;
  machineBusyPercent: number | null;
  /**
   * CPU the machine spent on anything but the four above (other programs, kernel work not
   * charged to them), in percent of one core: high means the figures were taken on a busy box.
   */
  otherCpuPercent: number | null;
  /**
   * This process's event-loop delay over the window beyond the 10 ms sampling interval (a busy
   * simulator inflates every timing it takes).
   */
  simLoopDelayMs: { p99: number; max: number };
}

interface Snapshot {
  at: number;
  hub: number | null;
  sim: NodeJS.CpuUsage;
  redis: number | null;
  postgres: Map<number, number>;
  machine: MachineCpuSample | null;
}

/**
 * Takes CPU readings of the hub child, this process, redis-server and the hub's PostgreSQL
 * backends at the start and end of a window; `usage` gives the difference per wall second.
 */
/** monitorEventLoopDelay (and prom-client's lag gauges, built on it) record whole timer intervals. */
export const LOOP_DELAY_RESOLUTION_MS = 10;

/** A recorded loop-delay interval in seconds → the delay beyond the sampling interval, in ms. */
export function excessLoopDelayMs(intervalSeconds: number): number {
  return round(Math.max(0, intervalSeconds * 1000 - LOOP_DELAY_RESOLUTION_MS), 1);
}

export class ResourceMonitor {
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });

  constructor(
    private readonly hubPid: number,
    private readonly redis: Redis,
    private readonly pg: Client,
    private readonly database: string,
  ) {
    this.loopDelay.enable();
  }

  async begin(): Promise<Snapshot> {
    const s = await this.snapshot();
    this.loopDelay.reset();
    return s;
  }

  async usage(before: Snapshot): Promise<ResourceUsage> {
    const after = await this.snapshot();
    const seconds = (after.at - before.at) / 1000;
    const pct = (a: number | null, b: number | null) =>
      a === null || b === null ? null : round(((b - a) / seconds) * 100, 0);
    let pgSeconds = 0;
    let pgSeen = 0;
    for (const [pid, cpu] of after.postgres) {
      const start = before.postgres.get(pid);
      if (start === undefined) continue;
      pgSeconds += cpu - start;
      pgSeen++;
    }
    const sim = after.sim.user + after.sim.system - before.sim.user - before.sim.system;
    const hubCpuPercent = pct(before.hub, after.hub);
    const simCpuPercent = round((sim / 1e6 / seconds) * 100, 0);
    const redisCpuPercent = pct(before.redis, after.redis);
    const postgresCpuPercent = pgSeen ? round((pgSeconds / seconds) * 100, 0) : null;
    const ours = (hubCpuPercent ?? 0) + simCpuPercent + (redisCpuPercent ?? 0) + (postgresCpuPercent ?? 0);
    const busy = machineBusyPercent(before.machine, after.machine);
    return {
      seconds: round(seconds, 1),
      hubCpuPercent,
      simCpuPercent,
      redisCpuPercent,
      postgresCpuPercent,
      machineBusyPercent: busy === null ? null : round(busy, 0),
      otherCpuPercent: busy === null ? null : round(Math.max(0, busy * cpus().length - ours), 0),
      simLoopDelayMs: {
        p99: excessLoopDelayMs(this.loopDelay.percentile(99) / 1e9),
        max: excessLoopDelayMs(this.loopDelay.max / 1e9),
      },
    };
  }

  close(): void {
    this.loopDelay.disable();
  }

  private async snapshot(): Promise<Snapshot> {
    const [redis, pids] = await Promise.all([this.redisCpuSeconds(), this.postgresBackends()]);
    const postgres = new Map<number, number>();
    for (const pid of pids) {
      const cpu = processCpuSeconds(pid);
      if (cpu !== null) postgres.set(pid, cpu);
    }
    return {
      at: performance.now(),
      hub: processCpuSeconds(this.hubPid),
      sim: process.cpuUsage(),
      redis,
      postgres,
      machine: machineCpuSample(),
    };
  }

  private async redisCpuSeconds(): Promise<number | null> {
    const info = await this.redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    const total = field('used_cpu_user') + field('used_cpu_sys');
    return Number.isFinite(total) ? total : null;
  }

  private async postgresBackends(): Promise<number[]> {
    const res = await this.pg.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      this.database,
    ]);
    return res.rows.map((r) => r.pid);
  }
}
