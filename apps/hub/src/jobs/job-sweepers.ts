import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';
import { PeriodicWork } from '../periodic/periodic-work';
import { inOneTrip } from '../redis/redis-batches';
import { JobQueues } from './job-queues';
import { OperationsService } from './operations.service';

const EXPIRE_EVERY_MS = 2000;
const REQUEUE_EVERY_MS = 10_000;
const REQUEUE_MIN_AGE_S = 5;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Periodic repairs and clean-up, once per period across the replicas (and idempotent, should two run):
 * queued operations past their deadline become `expired` and leave the queue; open operations
 * whose queue job Redis lost (a restart without persistence) are queued again from PostgreSQL,
 * the source of truth. The agent's journal makes a second delivery harmless.
 */
@Injectable()
export class JobSweepers implements OnApplicationBootstrap {
  private requeueRunning = false;

  constructor(
    private readonly operations: OperationsService,
    private readonly queues: JobQueues,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {}

  onApplicationBootstrap(): void {
    this.periodic.register({ kind: 'jobs.expire-due', everyMs: EXPIRE_EVERY_MS, run: () => this.expireDue() });
    this.periodic.register({ kind: 'jobs.requeue-lost', everyMs: REQUEUE_EVERY_MS, run: () => this.requeueLost() });
    this.periodic.register({ kind: 'jobs.prune-finished', everyMs: PRUNE_EVERY_MS, run: () => this.pruneFinished() });
    this.queues.connection.on('ready', () => void this.requeueLost());
  }

  async expireDue(): Promise<number> {
    try {
      const expired = await this.operations.expireDue();
      for (const op of expired)
        if (op.node_id)
          await this.queues
            .forNode(op.node_id)
            .remove(op.id)
            .catch(() => 0);
      return expired.length;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'expiring operations failed');
      return 0;
    }
  }

  /** Finished operations older than the retention are removed (default 7 days). */
  async pruneFinished(): Promise<number> {
    try {
      const removed = await this.operations.pruneFinished(this.config.jobs.retentionHours * 3600);
      if (removed) this.log.info({ removed }, 'removed finished operations past their retention');
      return removed;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'pruning operations failed');
      return 0;
    }
  }

  async requeueLost(): Promise<number> {
    if (this.requeueRunning) return 0;
    this.requeueRunning = true;
    let requeued = 0;
    try {
      const open = await this.operations.openHeadsOlderThan(REQUEUE_MIN_AGE_S);
      if (open.length === 0) return 0;
      const exists = await inOneTrip(
        this.queues.connection,
        open.map((op) => (r) => r.exists(`${this.queues.prefix}:${this.queues.queueName(op.nodeId!)}:${op.id}`)),
      );
      for (const [i, op] of open.entries()) {
        if (exists[i]?.[1] === 1) continue;
        if (await this.operations.requeue(op)) requeued++;
      }
      if (requeued) this.log.warn({ requeued }, 'queued operations again whose queue jobs Redis had lost');
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'requeue sweep failed');
    } finally {
      this.requeueRunning = false;
    }
    return requeued;
  }
}
