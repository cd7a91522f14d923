import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { HUB_LOGGER } from '../http/logger';
import { ClusterBus } from '../redis/cluster-bus';
import { TunnelServer } from '../tunnel/tunnel.server';
import { JobDelivery } from './job-delivery';
import { JOBS_TOPIC, JobQueues, NodeJobData } from './job-queues';
const SWEEP_MS = 2000;

/**
 * A BullMQ Worker holds a blocking Redis connection, so one per connected node would not scale to
 * thousands of agents. A replica runs a node's Worker only while that node is connected here and
 * has work: started by a wake-up message when a job is added, at agent connect, and by a periodic
 * sweep over the set of nodes with work (pub/sub is lossy); stopped once its queue is empty for
 * two stalled-check intervals.
 */
@Injectable()
export class NodeWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly workers = new Map<string, Worker<NodeJobData>>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  /** Workers still finishing their jobs (a node that disconnected): shutdown waits for them before Redis closes. */
  private readonly closing = new Set<Promise<void>>();
  private sweepTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly queues: JobQueues,
    private readonly delivery: JobDelivery,
    private readonly tunnel: TunnelServer,
    private readonly bus: ClusterBus,
    private readonly domainEvents: DomainEventBus,
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  get activeWorkers(): number {
    return this.workers.size;
  }

  onApplicationBootstrap(): void {
    this.domainEvents.on('agent.ready', (s) => this.ensureIfWork(s.nodeId));
    this.domainEvents.on('agent.closed', (s) => {
      if (!this.tunnel.session(s.nodeId)) void this.stop(s.nodeId);
    });
    this.bus.on(JOBS_TOPIC, (m) => {
      if (m.type === 'wake' && typeof m.nodeId === 'string') void this.ensure(m.nodeId);
      if (m.type === 'cancel' && typeof m.nodeId === 'string' && typeof m.opId === 'string')
        this.delivery.requestCancel(m.nodeId, m.opId);
    });
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
  }

  private async ensureIfWork(nodeId: string): Promise<void> {
    try {
      if (await this.queues.connection.sismember(this.queues.workSetKey, nodeId)) await this.ensure(nodeId);
    } catch (err) {
      this.log.warn({ nodeId, reason: (err as Error).message }, 'could not check for queued work');
    }
  }

  async ensure(nodeId: string): Promise<void> {
    if (this.stopped) return;
    // A running Worker re-arms its idle check (which re-counts the queue) rather than cancelling
    // it: `drained` fires once per transition to empty, so a cancelled check would never return.
    if (this.workers.has(nodeId)) return this.scheduleIdleCheck(nodeId);
    const session = this.tunnel.session(nodeId);
    if (!session) return;
    // A read of the nodes domain's table (its owner writes it): the operator's concurrency cap.
    const [node] = (await this.db.query(`SELECT job_concurrency AS "jobConcurrency" FROM nodes WHERE id = $1`, [
      nodeId,
    ])) as { jobConcurrency: number }[];
    // Shutdown may have begun during the await: a Worker created now would outlive the Redis connection it uses.
    if (!node || this.stopped || this.workers.has(nodeId) || !this.tunnel.session(nodeId)) return;
    const worker = new Worker<NodeJobData>(
      this.queues.queueName(nodeId),
      (job, token) => this.delivery.process(nodeId, job, token),
      {
        connection: this.queues.connection,
        prefix: this.queues.prefix,
        concurrency: Math.max(1, Math.min(node.jobConcurrency, session.maxConcurrentJobs)),
        lockDuration: this.config.jobs.lockSeconds * 1000,
        stalledInterval: this.config.jobs.stalledCheckSeconds * 1000,
        // Disconnects are normal: a stalled job is re-run, not failed. Attempts count real failures.
        maxStalledCount: 1000,
        autorun: true,
      },
    );
    worker.on('error', (err) => this.log.warn({ nodeId, reason: err.message }, 'job worker error'));
    worker.on('drained', () => this.scheduleIdleCheck(nodeId));
    this.workers.set(nodeId, worker);
    this.scheduleIdleCheck(nodeId);
  }

  private clearIdle(nodeId: string): void {
    const t = this.idleTimers.get(nodeId);
    if (t) clearTimeout(t);
    this.idleTimers.delete(nodeId);
  }

  private scheduleIdleCheck(nodeId: string): void {
    this.clearIdle(nodeId);
    const t = setTimeout(() => void this.stopIfIdle(nodeId), 2 * this.config.jobs.stalledCheckSeconds * 1000);
    this.idleTimers.set(nodeId, t);
  }

  private async stopIfIdle(nodeId: string): Promise<void> {
    this.idleTimers.delete(nodeId);
    try {
      const counts = await this.queues
        .forNode(nodeId)
        .getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children');
      const pending = Object.values(counts).reduce((a, b) => a + b, 0);
      if (pending > 0) return this.scheduleIdleCheck(nodeId);
      await this.queues.connection.srem(this.queues.workSetKey, nodeId);
      // A job added between the count and the SREM re-adds the node and wakes us again.
      await this.stop(nodeId);
    } catch (err) {
      this.log.warn({ nodeId, reason: (err as Error).message }, 'idle check failed');
      this.scheduleIdleCheck(nodeId);
    }
  }

  async stop(nodeId: string): Promise<void> {
    this.clearIdle(nodeId);
    const w = this.workers.get(nodeId);
    if (!w) return;
    this.workers.delete(nodeId);
    const closed = w
      .close()
      .catch((err: Error) => this.log.warn({ nodeId, reason: err.message }, 'closing job worker failed'));
    this.closing.add(closed);
    await closed;
    this.closing.delete(closed);
  }

  /** Repairs lost wake-ups: every locally connected node that is in the work set gets a Worker. */
  private async sweep(): Promise<void> {
    const local = this.tunnel.localSessions().filter((s) => s.ready && !this.workers.has(s.nodeId));
    if (local.length === 0) return;
    try {
      const flags = await this.queues.connection.smismember(this.queues.workSetKey, ...local.map((s) => s.nodeId));
      await Promise.all(local.filter((_, i) => flags[i] === 1).map((s) => this.ensure(s.nodeId)));
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'work sweep failed');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const t of this.idleTimers.values()) clearTimeout(t);
    // Every Worker, including those already closing for a node that went away, ends its jobs
    // while Redis is still connected: a closing Worker whose job fails with "Connection is
    // closed" retries that failure without pause (BullMQ 5.81), spinning the CPU forever.
    this.delivery.putBackAll();
    await Promise.all([...this.workers.keys()].map((id) => this.stop(id)));
    await Promise.all([...this.closing]);
  }
}
