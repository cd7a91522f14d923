import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LiveConnections } from '../access/live-connections';
import { PeriodicWork } from '../periodic/periodic-work';
import { processFaultCounts } from '../process/process-faults';

/** One registry per hub app (tests run several in a process), exposed at /metrics. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'hostplane_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly unhandledRejections = new Counter({
    name: 'hostplane_hub_unhandled_rejections_total',
    help: 'Promise rejections nobody handled, by class (operational: logged and survived; fatal: the process exited)',
    labelNames: ['class'] as const,
    registers: [this.registry],
    collect() {
      this.reset();
      for (const [cls, n] of Object.entries(processFaultCounts)) this.inc({ class: cls }, n);
    },
  });

  constructor(live: LiveConnections, periodic: PeriodicWork) {
    collectDefaultMetrics({ register: this.registry, prefix: 'hostplane_hub_' });
    new Gauge({
      name: 'hostplane_live_connections',
      help: 'Open WebSockets, event streams and long HTTP responses on this replica, by kind',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [kind, n] of live.countByKind()) this.set({ kind }, n);
      },
    });
    new Counter({
      name: 'hostplane_connections_closed_access_ended_total',
      help: 'Connections this replica closed because their access ended, by kind and reason code',
      labelNames: ['kind', 'code'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of live.closedByReason.values()) this.inc({ kind: c.kind, code: c.code }, c.count);
      },
    });
    new Counter({
      name: 'hostplane_hub_periodic_runs_total',
      help: 'Periodic work this replica ran, by kind and how it got the period (claimed: it won the period; unclaimed: Redis could not be asked)',
      labelNames: ['kind', 'how'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, n] of periodic.runCounts) {
          const [kind, how] = key.split('|') as [string, string];
          this.inc({ kind, how }, n);
        }
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }
}
