import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';

const ROLLUP_EVERY_MS = 60_000;
const ROLLUP_LOCK_KEY = 4_242_002;
const MAX_POINTS = 2000;

const RAW_AGG = `count(*)::int AS samples, avg(cpu_percent) AS cpu_percent, max(cpu_percent) AS cpu_percent_max,
  avg(memory_used_bytes) AS memory_used_bytes, max(memory_total_bytes) AS memory_total_bytes,
  avg(disk_used_bytes) AS disk_used_bytes, max(disk_total_bytes) AS disk_total_bytes,
  avg(net_rx_bps) AS net_rx_bps, avg(net_tx_bps) AS net_tx_bps, avg(load1) AS load1, avg(load5) AS load5, avg(load15) AS load15`;
// Averages of averages, weighted by how many samples each 5-minute bucket holds.
const ROLLUP_AGG = `sum(samples)::int AS samples, sum(cpu_percent * samples) / sum(samples) AS cpu_percent, max(cpu_percent_max) AS cpu_percent_max,
  sum(memory_used_bytes * samples) / sum(samples) AS memory_used_bytes, max(memory_total_bytes) AS memory_total_bytes,
  sum(disk_used_bytes * samples) / sum(samples) AS disk_used_bytes, max(disk_total_bytes) AS disk_total_bytes,
  sum(net_rx_bps * samples) / sum(samples) AS net_rx_bps, sum(net_tx_bps * samples) / sum(samples) AS net_tx_bps,
  sum(load1 * samples) / sum(samples) AS load1, sum(load5 * samples) / sum(samples) AS load5, sum(load15 * samples) / sum(samples) AS load15`;

export interface MetricsHistory {
  from: string;
  to: string;
  step: number;
  source: 'raw' | 'rollup_5m';
  points: Record<string, number | string>[];
}

/**
 * Node metrics as a time series in PostgreSQL: raw rows per heartbeat, rolled up into
 * 5-minute buckets, each pruned by its own retention. Queries pick the finest table that still
 * covers the range.
 */
@Injectable()
export class NodeMetricsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private caughtUp = false;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.maintain().catch((err: Error) => this.log.warn({ reason: err.message }, 'metrics rollup failed')), ROLLUP_EVERY_MS);
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async history(nodeId: string, q: { from?: string; to?: string; step?: number }): Promise<MetricsHistory> {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3600_000);
    const rangeS = Math.max(1, (to.getTime() - from.getTime()) / 1000);
    const rawHorizon = Date.now() - this.config.metrics.rawRetentionHours * 3600_000;
    const source = from.getTime() < rawHorizon ? 'rollup_5m' : 'raw';
    let step = q.step ?? Math.max(this.config.agents.heartbeatSeconds, Math.ceil(rangeS / 300));
    if (source === 'rollup_5m') step = Math.max(300, Math.ceil(step / 300) * 300);
    step = Math.max(step, Math.ceil(rangeS / MAX_POINTS));
    const table = source === 'raw' ? 'node_metrics' : 'node_metrics_5m';
    const tsCol = source === 'raw' ? 'ts' : 'bucket';
    const rows = (await this.db.query(
      `SELECT date_bin(make_interval(secs => $2), ${tsCol}, timestamptz 'epoch') AS bucket, ${source === 'raw' ? RAW_AGG : ROLLUP_AGG}
         FROM ${table} WHERE node_id = $1 AND ${tsCol} >= $3 AND ${tsCol} < $4
        GROUP BY 1 ORDER BY 1`,
      [nodeId, step, from.toISOString(), to.toISOString()],
    )) as Record<string, unknown>[];
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      step,
      source,
      points: rows.map((r) => {
        const point: Record<string, number | string> = { ts: (r.bucket as Date).toISOString() };
        for (const [k, v] of Object.entries(r)) if (k !== 'bucket') point[k] = Math.round(Number(v) * 100) / 100;
        return point;
      }),
    };
  }

  /**
   * Roll recent raw rows into 5-minute buckets and apply both retentions; once per cluster per run.
   * Each run recomputes the last `windowMinutes` (buckets still filling); the first run after a
   * start covers the whole raw retention, to catch up on time the cluster was down.
   */
  async maintain(windowMinutes = this.caughtUp ? 15 : this.config.metrics.rawRetentionHours * 60): Promise<{ rolledUp: number; prunedRaw: number; prunedRollup: number }> {
    this.caughtUp = true;
    return this.db.transaction(async (tx) => {
      const [{ locked }] = (await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [ROLLUP_LOCK_KEY])) as [{ locked: boolean }];
      if (!locked) return { rolledUp: 0, prunedRaw: 0, prunedRollup: 0 };
      const rolled = (await tx.query(
        `INSERT INTO node_metrics_5m (node_id, bucket, samples, cpu_percent, cpu_percent_max, memory_used_bytes, memory_total_bytes,
                                      disk_used_bytes, disk_total_bytes, net_rx_bps, net_tx_bps, load1, load5, load15)
         SELECT node_id, date_bin('5 minutes', ts, timestamptz 'epoch'), ${RAW_AGG}
           FROM node_metrics
          WHERE ts >= date_bin('5 minutes', now() - make_interval(mins => $1), timestamptz 'epoch')
          GROUP BY 1, 2
         ON CONFLICT (node_id, bucket) DO UPDATE SET samples = EXCLUDED.samples, cpu_percent = EXCLUDED.cpu_percent,
           cpu_percent_max = EXCLUDED.cpu_percent_max, memory_used_bytes = EXCLUDED.memory_used_bytes,
           memory_total_bytes = EXCLUDED.memory_total_bytes, disk_used_bytes = EXCLUDED.disk_used_bytes,
           disk_total_bytes = EXCLUDED.disk_total_bytes, net_rx_bps = EXCLUDED.net_rx_bps, net_tx_bps = EXCLUDED.net_tx_bps,
           load1 = EXCLUDED.load1, load5 = EXCLUDED.load5, load15 = EXCLUDED.load15`,
        [windowMinutes],
      )) as unknown;
      const prunedRaw = (await tx.query(`DELETE FROM node_metrics WHERE ts < now() - make_interval(hours => $1)`, [this.config.metrics.rawRetentionHours])) as [
        unknown,
        number,
      ];
      const prunedRollup = (await tx.query(`DELETE FROM node_metrics_5m WHERE bucket < now() - make_interval(days => $1)`, [
        this.config.metrics.rollupRetentionDays,
      ])) as [unknown, number];
      return { rolledUp: Array.isArray(rolled) ? Number(rolled[1] ?? 0) : 0, prunedRaw: prunedRaw[1] ?? 0, prunedRollup: prunedRollup[1] ?? 0 };
    });
  }
}
