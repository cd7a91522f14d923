import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { InstanceMetrics } from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { HUB_LOGGER } from '../http/logger';
import {
  type HistoryQuery,
  type MaintenanceResult,
  type MetricSeries,
  type MetricsHistory,
  queryHistory,
  ROLLUP_EVERY_MS,
  SeriesMaintainer,
} from '../metrics/metric-series';
import { PeriodicWork } from '../periodic/periodic-work';
import type { AgentSession } from '../tunnel/agent-session';

const ROLLUP_LOCK_KEY = 4_242_020;
/** Samples waiting for the next flush, at most; beyond it new ones are dropped (and counted). */
const MAX_PENDING = 100_000;
const FORGET_COUNTERS_AFTER_MS = 10 * 60_000;

export const INSTANCE_METRICS: MetricSeries = {
  raw: 'instance_metrics',
  rollup: 'instance_metrics_5m',
  key: 'instance_id',
  columns: [
    { name: 'cpu_percent', agg: 'avg', withMax: true },
    { name: 'memory_bytes', agg: 'avg', withMax: true },
    { name: 'memory_limit_bytes', agg: 'max' },
    { name: 'disk_bytes', agg: 'avg' },
    { name: 'net_rx_bps', agg: 'avg' },
    { name: 'net_tx_bps', agg: 'avg' },
  ],
};

interface PendingSample {
  instanceId: string;
  nodeId: string;
  orgId: string;
  at: string;
  cpu: number;
  memory: number;
  memoryLimit: number | null;
  disk: number;
  rxBps: number;
  txBps: number;
}

interface LastCounters {
  at: number;
  rx: number;
  tx: number;
}

/**
 * Instance metrics history. Agents send one `instance:metrics` frame per metrics interval with a
 * sample per running instance; samples are buffered and written in one statement per flush, and
 * only for instances that belong to the sending node's organization and sit on that node (the
 * join in the insert drops anything else). Rollup and retention are the node metrics' own.
 */
@Injectable()
export class InstanceMetricsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private pending: PendingSample[] = [];
  private readonly counters = new Map<string, LastCounters>();
  private readonly maintainer: SeriesMaintainer;
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  dropped = 0;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly domainEvents: DomainEventBus,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {
    this.maintainer = new SeriesMaintainer(db, INSTANCE_METRICS, ROLLUP_LOCK_KEY, config.metrics);
  }

  onApplicationBootstrap(): void {
    this.domainEvents.on('instance.metrics', (e) => this.record(e, e.frame));
    const every = Math.max(500, Math.min(2000, this.config.agents.heartbeatSeconds * 500));
    this.flushTimer = setInterval(
      () =>
        void this.flush().catch((err: Error) =>
          this.log.warn({ reason: err.message }, 'writing instance metrics failed'),
        ),
      every,
    );
    this.periodic.register({
      kind: 'instances.metrics-rollup',
      everyMs: ROLLUP_EVERY_MS,
      maxRunMs: 5 * 60_000,
      run: () => this.maintainer.run(),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flush().catch(() => undefined);
  }

  record(session: Pick<AgentSession, 'nodeId' | 'orgId'>, frame: InstanceMetrics, now = Date.now()): void {
    const at = new Date(now).toISOString();
    for (const s of frame.samples) {
      if (this.pending.length >= MAX_PENDING) {
        this.dropped++;
        continue;
      }
      const key = `${session.nodeId}:${s.instance_id}`;
      const last = this.counters.get(key);
      let rxBps = 0;
      let txBps = 0;
      // Counters restart with the container or process: a drop means a new series, not negative traffic.
      if (last && now > last.at && s.net_rx_bytes >= last.rx && s.net_tx_bytes >= last.tx) {
        const dt = (now - last.at) / 1000;
        rxBps = (s.net_rx_bytes - last.rx) / dt;
        txBps = (s.net_tx_bytes - last.tx) / dt;
      }
      this.counters.set(key, { at: now, rx: s.net_rx_bytes, tx: s.net_tx_bytes });
      this.pending.push({
        instanceId: s.instance_id,
        nodeId: session.nodeId,
        orgId: session.orgId,
        at,
        cpu: s.cpu_percent,
        memory: Math.round(s.memory_bytes),
        memoryLimit: s.memory_limit_bytes === null ? null : Math.round(s.memory_limit_bytes),
        disk: Math.round(s.disk_bytes),
        rxBps,
        txBps,
      });
    }
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    this.forgetIdleCounters();
    return this.flushing;
  }

  history(instanceId: string, q: HistoryQuery): Promise<MetricsHistory> {
    return queryHistory(this.db, INSTANCE_METRICS, instanceId, q, {
      minStep: this.config.agents.heartbeatSeconds,
      rawRetentionHours: this.config.metrics.rawRetentionHours,
    });
  }

  maintain(windowMinutes?: number): Promise<MaintenanceResult> {
    return this.maintainer.run(windowMinutes);
  }

  private async write(batch: PendingSample[]): Promise<void> {
    const col = <T>(f: (p: PendingSample) => T) => batch.map(f);
    await this.db.query(
      `INSERT INTO instance_metrics (instance_id, ts, cpu_percent, memory_bytes, memory_limit_bytes, disk_bytes, net_rx_bps, net_tx_bps)
       SELECT v.instance_id, v.ts, v.cpu, v.mem, v.mem_limit, v.disk, v.rx, v.tx
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::real[], $6::bigint[], $7::bigint[], $8::bigint[], $9::real[], $10::real[])
              AS v(instance_id, node_id, org_id, ts, cpu, mem, mem_limit, disk, rx, tx)
         JOIN instances i ON i.id = v.instance_id AND i.node_id = v.node_id AND i.org_id = v.org_id
       ON CONFLICT DO NOTHING`,
      [
        col((p) => p.instanceId),
        col((p) => p.nodeId),
        col((p) => p.orgId),
        col((p) => p.at),
        col((p) => p.cpu),
        col((p) => p.memory),
        col((p) => p.memoryLimit),
        col((p) => p.disk),
        col((p) => p.rxBps),
        col((p) => p.txBps),
      ],
    );
  }

  private forgetIdleCounters(now = Date.now()): void {
    for (const [key, c] of this.counters) if (now - c.at > FORGET_COUNTERS_AFTER_MS) this.counters.delete(key);
  }
}
