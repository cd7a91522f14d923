import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';
import { type MaintenanceResult, type MetricSeries, type MetricsHistory, queryHistory, SeriesMaintainer } from '../metrics/metric-series';

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
  ],
};

/**
 * Node metrics as a time series in PostgreSQL: raw rows per heartbeat, rolled up into
 * 5-minute buckets, each pruned by its own retention. Queries pick the finest table that still
 * covers the range.
 */
@Injectable()
export class NodeMetricsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly maintainer: SeriesMaintainer;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) log: Logger,
  ) {
    this.maintainer = new SeriesMaintainer(db, NODE_METRICS, ROLLUP_LOCK_KEY, config.metrics, (err) => log.warn({ reason: err.message }, 'metrics rollup failed'));
  }

  onApplicationBootstrap(): void {
    this.maintainer.start();
  }

  beforeApplicationShutdown(): void {
    this.maintainer.stop();
  }

  history(nodeId: string, q: { from?: string; to?: string; step?: number }): Promise<MetricsHistory> {
    return queryHistory(this.db, NODE_METRICS, nodeId, q, { minStep: this.config.agents.heartbeatSeconds, rawRetentionHours: this.config.metrics.rawRetentionHours });
  }

  /** Roll recent raw rows into 5-minute buckets and apply both retentions; once per cluster per run. */
  maintain(windowMinutes?: number): Promise<MaintenanceResult> {
    return this.maintainer.run(windowMinutes);
  }
}
