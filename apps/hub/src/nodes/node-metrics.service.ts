import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import {
  type MaintenanceResult,
  type MetricSeries,
  type MetricsHistory,
  queryHistory,
  ROLLUP_EVERY_MS,
  SeriesMaintainer,
} from '../metrics/metric-series';
import { PeriodicWork } from '../periodic/periodic-work';

export type { MetricsHistory } from '../metrics/metric-series';

const ROLLUP_LOCK_KEY = 4_242_002;

export const NODE_METRICS: MetricSeries = {
  raw: 'node_metrics',
  rollup: 'node_metrics_5m',
  key: 'node_id',
  columns: [
    { name: 'cpu_percent', agg: 'avg', withMax: true },
    { name: 'memory_used_bytes', agg: 'avg' },
    { name: 'memory_total_bytes', agg: 'max' },
    { name: 'disk_used_bytes', agg: 'avg' },
    { name: 'disk_total_bytes', agg: 'max' },
    { name: 'net_rx_bps', agg: 'avg' },
    { name: 'net_tx_bps', agg: 'avg' },
    { name: 'load1', agg: 'avg' },
    { name: 'load5', agg: 'avg' },
    { name: 'load15', agg: 'avg' },
    { name: 'disk_read_bps', agg: 'avg' },
    { name: 'disk_write_bps', agg: 'avg' },
  ],
};

/**
 * Node metrics as a time series in PostgreSQL: raw rows per heartbeat, rolled up into
 * 5-minute buckets, each pruned by its own retention. Queries pick the finest table that still
 * covers the range.
 */
@Injectable()
export class NodeMetricsService implements OnApplicationBootstrap {
  private readonly maintainer: SeriesMaintainer;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly periodic: PeriodicWork,
  ) {
    this.maintainer = new SeriesMaintainer(db, NODE_METRICS, ROLLUP_LOCK_KEY, config.metrics);
  }

  onApplicationBootstrap(): void {
    this.periodic.register({
      kind: 'nodes.metrics-rollup',
      everyMs: ROLLUP_EVERY_MS,
      maxRunMs: 5 * 60_000,
      run: () => this.maintainer.run(),
    });
  }

  history(nodeId: string, q: { from?: string; to?: string; step?: number }): Promise<MetricsHistory> {
    return queryHistory(this.db, NODE_METRICS, nodeId, q, {
      minStep: this.config.agents.heartbeatSeconds,
      rawRetentionHours: this.config.metrics.rawRetentionHours,
    });
  }

  /** Roll recent raw rows into 5-minute buckets and apply both retentions; once per cluster per run. */
  maintain(windowMinutes?: number): Promise<MaintenanceResult> {
    return this.maintainer.run(windowMinutes);
  }
}
