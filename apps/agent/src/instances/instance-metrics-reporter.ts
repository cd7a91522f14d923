import type { InstanceMetrics, InstanceStats } from '@hostplane/protocol';
import type { InstanceDriver, InstanceSummary } from './instance-driver';
import type { AgentLogger } from '../logging/logger';

export interface InstanceMetricsSink {
  readonly connected: boolean;
  sendInstanceMetrics(frame: InstanceMetrics): void;
}

/** What the reporter needs of the instance manager. */
export interface InstanceStatsSource {
  list(): Promise<InstanceSummary[]>;
  driverOf(id: string): Promise<Pick<InstanceDriver, 'stats'>>;
}

const MAX_PARALLEL = 8;
const STATS_TIMEOUT_MS = 10_000;
const MAX_SAMPLES = 10_000;

/**
 * Every metrics interval (the heartbeat interval the hub gives at welcome), the stats of each
 * running instance in one `instance:metrics` frame, for the hub's metrics history. A round that
 * is still collecting when the next is due makes that one skip, so slow engines never pile up
 * calls; an instance whose stats fail is left out of that round.
 */
export class InstanceMetricsReporter {
  private sink: InstanceMetricsSink | null = null;
  private timer: NodeJS.Timeout | null = null;
  private collecting = false;

  constructor(
    private readonly instances: InstanceStatsSource,
    private readonly log: AgentLogger,
  ) {}

  attach(sink: InstanceMetricsSink, intervalMs: number): void {
    this.detach();
    this.sink = sink;
    this.timer = setInterval(() => void this.report(), intervalMs);
    this.timer.unref();
  }

  detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sink = null;
  }

  /** One round: collect, then send when a session is attached and anything runs. */
  async report(): Promise<number> {
    if (this.collecting) return 0;
    this.collecting = true;
    try {
      const samples = await this.collect();
      const sink = this.sink;
      if (samples.length === 0 || !sink?.connected) return 0;
      sink.sendInstanceMetrics({ ts: new Date().toISOString(), samples });
      return samples.length;
    } catch (err) {
      this.log.warn({ err }, 'collecting instance metrics failed');
      return 0;
    } finally {
      this.collecting = false;
    }
  }

  async collect(): Promise<InstanceStats[]> {
    const running = (await this.instances.list()).filter((i) => i.state === 'running').slice(0, MAX_SAMPLES);
    const samples: InstanceStats[] = [];
    for (let i = 0; i < running.length; i += MAX_PARALLEL) {
      const round = await Promise.allSettled(
        running.slice(i, i + MAX_PARALLEL).map((r) => this.statsOf(r.instance_id)),
      );
      for (const r of round) if (r.status === 'fulfilled') samples.push(r.value);
    }
    return samples;
  }

  private async statsOf(id: string): Promise<InstanceStats> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`stats of instance ${id} took longer than ${STATS_TIMEOUT_MS} ms`)),
        STATS_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([(await this.instances.driverOf(id)).stats(id), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
