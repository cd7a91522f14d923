import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource, Repository } from 'typeorm';
import { backupInfo, type AnyJob } from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { EventsService } from '../events/events.service';
import { HUB_LOGGER } from '../http/logger';
import { InstancePlacement } from '../instances/instance-placement';
import { InstanceEntity } from '../instances/instance.entity';
import { JobDispatcher } from '../jobs/job-dispatcher';
import type { OperationEntity } from '../jobs/operation.entity';
import { OperationWaiter } from '../jobs/operation-waiter';
import { OperationsService } from '../jobs/operations.service';
import { PeriodicWork } from '../periodic/periodic-work';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { TunnelServer } from '../tunnel/tunnel.server';
import {
  beforeSwitch,
  cleanupJobs,
  migrationBackupId,
  type MigrationStep,
  nextStep,
  overallPercent,
  rollbackJobs,
  type SideJob,
  specWithoutInstall,
  stepOperationId,
} from './migration-plan';
import { MigrationBackups } from './migration-backups';
import { MigrationPorts } from './migration-ports';
import { TransferError } from './migration-transfer';
import { MIGRATION_JOB_ATTEMPTS, MIGRATION_QUEUE, type MigrationJobData, MigrationQueue } from './migration-queue';
import { RunnerStopping, StepFailed, TransferStep } from './migration-transfer-step';
import { StepWatchdog } from './migration-watchdog';
import { MigrationEntity, type MigrationError, type MigrationStatus } from './migration.entity';

const SYSTEM = { type: 'system' as const, id: null, name: 'migration' };
const SLOT_RETRY_MS = 1000;
/** Clean-up and rollback jobs are queued and awaited this long; a node that is away gets them when it returns. */
const SETTLE_WAIT_S = 60;
/**
 * A rollback waits this much for the target's clean-up: the migration ends once the instance is
 * back on the source, not when a target that hangs (connected but silent) gets round to it.
 */
const ROLLBACK_TARGET_WAIT_S = 5;

type Listener = (m: MigrationEntity) => void;

/**
 * Runs migrations from the `{migrations}` BullMQ queue, one job per migration. A job resumes at
 * the step persisted in its row; each step is idempotent (derived operation ids, a restartable
 * transfer, a conditional switch), so a job re-run after a crash picks up where it left off.
 */
@Injectable()
export class MigrationRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly repo: Repository<MigrationEntity>;
  private worker?: Worker<MigrationJobData>;
  private stopping = false;
  private readonly transferStep: TransferStep;
  private readonly watchdogs = new Map<string, StepWatchdog>();
  private readonly finishedListeners: Listener[] = [];

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    private readonly placement: InstancePlacement,
    private readonly queue: MigrationQueue,
    private readonly jobs: JobDispatcher,
    private readonly waiter: OperationWaiter,
    private readonly tunnel: TunnelServer,
    nodeStreams: NodeStreams,
    private readonly events: EventsService,
    private readonly ports: MigrationPorts,
    private readonly nodeBackups: MigrationBackups,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {
    this.repo = db.getRepository(MigrationEntity);
    this.transferStep = new TransferStep({
      tunnel,
      streams: nodeStreams,
      log,
      bytesPerSecond: config.migrations.transferBytesPerSecond,
      stopping: () => this.stopping,
      cancelRequested: (id) => this.cancelRequested(id),
      progress: (m, fraction, message, bytes) => this.progress(m, 'transfer', fraction, message, bytes),
      stalledError: (m) => this.stalledError(m),
    });
  }

  /** The drain loop advances as soon as one of its migrations ends. */
  onFinished(l: Listener): void {
    this.finishedListeners.push(l);
  }

  onApplicationBootstrap(): void {
    const worker = new Worker<MigrationJobData>(MIGRATION_QUEUE, (job, token) => this.process(job, token), {
      connection: this.queue.queues.connection,
      prefix: this.queue.queues.prefix,
      concurrency: this.config.migrations.concurrency,
      lockDuration: this.config.jobs.lockSeconds * 1000,
      stalledInterval: this.config.jobs.stalledCheckSeconds * 1000,
      // A hub that dies mid-migration is normal: its job stalls and is resumed, never failed for it.
      maxStalledCount: 1000,
    });
    worker.on('error', (err) => this.log.warn({ reason: err.message }, 'migration worker error'));
    worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= MIGRATION_JOB_ATTEMPTS) void this.giveUp(job.data.migrationId, err);
    });
    this.worker = worker;
    this.periodic.register({
      kind: 'migrations.requeue-lost',
      everyMs: this.config.migrations.sweepSeconds * 1000,
      run: () => this.requeueLost(),
    });
  }

  /** Open migrations whose job Redis no longer holds are queued again from PostgreSQL, the source of truth. */
  async requeueLost(): Promise<number> {
    let requeued = 0;
    try {
      const open = await this.repo
        .createQueryBuilder('m')
        .select(['m.id'])
        .where(`m.status IN ('queued', 'running')`)
        .andWhere(`m.updated_at < now() - interval '5 seconds'`)
        .limit(500)
        .getMany();
      for (const m of open) if (await this.queue.ensure(m.id)) requeued++;
      if (requeued) this.log.warn({ requeued }, 'queued migrations again whose jobs Redis had lost');
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'migration repair sweep failed');
    }
    return requeued;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const a of this.transferStep.aborts) a.abort();
    await this.worker
      ?.close()
      .catch((err: Error) => this.log.warn({ reason: err.message }, 'closing the migration worker failed'));
  }

  private async process(job: Job<MigrationJobData>, token: string | undefined): Promise<void> {
    let m = await this.repo.findOneBy({ id: job.data.migrationId });
    if (!m || isFinal(m.status)) return;
    if (m.status === 'queued') {
      if (m.cancelRequested)
        return this.finish(m, 'cancelled', { code: 'cancelled', message: 'cancelled before it started', step: m.step });
      if (!(await this.claimSlot(m))) {
        // The batch runs max_parallel at once: look again in a moment.
        await job.moveToDelayed(Date.now() + SLOT_RETRY_MS, token);
        throw new DelayedError();
      }
      m = (await this.repo.findOneBy({ id: m.id }))!;
      void this.events.publish(m.orgId, 'migration.started', this.eventData(m));
    }
    await this.run(m);
  }

  /** Queued → running when the batch has a free slot, decided under a per-batch lock. */
  private async claimSlot(m: MigrationEntity): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`migration-batch:${m.batchId}`]);
      const [{ n }] = (await tx.query(
        `SELECT count(*)::int AS n FROM migrations WHERE batch_id = $1 AND status = 'running'`,
        [m.batchId],
      )) as [{ n: number }];
      if (n >= m.maxParallel) return false;
      const res = (await tx.query(
        `UPDATE migrations SET status = 'running', started_at = now(), updated_at = now() WHERE id = $1 AND status = 'queued' RETURNING id`,
        [m.id],
      )) as [unknown[], number];
      return res[0].length > 0;
    });
  }

  private async run(m: MigrationEntity): Promise<void> {
    for (;;) {
      if (this.stopping) throw new RunnerStopping();
      m = (await this.repo.findOneBy({ id: m.id }))!;
      if (isFinal(m.status)) return;
      if (m.step === 'done') return this.finish(m, m.error ? 'failed' : 'succeeded', m.error);
      if (m.step === 'rollback') return this.rollback(m);
      if (beforeSwitch(m.step) && m.cancelRequested) {
        await this.toRollback(m, { code: 'cancelled', message: 'cancelled on request', step: m.step });
        continue;
      }
      this.watchdogs.set(m.id, new StepWatchdog(this.config.migrations.stallSeconds * 1000));
      try {
        await this.runStep(m);
        await this.advance(m, nextStep(m.step));
      } catch (err) {
        if (err instanceof RunnerStopping || this.stopping) throw new RunnerStopping();
        // Anything else (the database away, a bug) fails this attempt of the job; it is retried from the same step.
        if (!(err instanceof StepFailed)) throw err;
        const error = err.error;
        // A switch that failed did not happen: the instance is still the source's.
        if (beforeSwitch(m.step) || m.step === 'switch') await this.toRollback(m, error);
        else {
          // After the switch the instance lives on the target: record the failure, finish the clean-up.
          this.log.warn({ migrationId: m.id, step: m.step, error }, 'migration step failed after the switch');
          await this.repo.update({ id: m.id }, { error });
          await this.advance(m, m.step === 'cleanup' ? 'done' : 'cleanup');
        }
      } finally {
        this.watchdogs.delete(m.id);
      }
    }
  }

  private async runStep(m: MigrationEntity): Promise<void> {
    const instance = await this.db.getRepository(InstanceEntity).findOneBy({ id: m.instanceId });
    if (!instance)
      throw new StepFailed({ code: 'instance_gone', message: 'the instance no longer exists', step: m.step });
    const backupId = migrationBackupId(m.id);
    switch (m.step) {
      case 'stop': {
        let wasRunning = m.wasRunning;
        if (wasRunning === null) {
          wasRunning = instance.desiredState === 'running' || ['running', 'starting'].includes(instance.state);
          await this.repo.update({ id: m.id }, { wasRunning });
        }
        if (['running', 'starting', 'stopping', 'installing'].includes(instance.state) || wasRunning) {
          await this.step(
            m,
            'source',
            { kind: 'instance.stop', payload: { instance_id: m.instanceId } },
            'stopping the instance on the source',
          );
        }
        return;
      }
      case 'backup': {
        const op = await this.step(
          m,
          'source',
          { kind: 'instance.backup.create', payload: { instance_id: m.instanceId, backup_id: backupId } },
          'archiving the instance root on the source',
        );
        const info = backupInfo.parse(op.result);
        await this.repo.update(
          { id: m.id },
          {
            backup: { backup_id: info.backup_id, size_bytes: info.size_bytes, sha256: info.sha256 },
            bytesTotal: String(info.size_bytes),
            bytesTransferred: '0',
          },
        );
        return;
      }
      case 'transfer':
        return this.transferStep.run(m, this.watchdogs.get(m.id));
      case 'create': {
        const target = await this.ports.targetSpec(m).catch((err: unknown) => {
          if (MigrationPorts.isPortShortage(err))
            throw new StepFailed({ code: err.code, message: err.message, step: 'create' });
          throw err;
        });
        await this.step(
          m,
          'target',
          { kind: 'instance.create', payload: { spec: specWithoutInstall(target.spec), restore_follows: true } },
          'creating the instance on the target',
        );
        return;
      }
      case 'restore':
        await this.step(
          m,
          'target',
          {
            kind: 'instance.backup.restore',
            payload: { instance_id: m.instanceId, backup_id: backupId, sha256: m.backup?.sha256 },
          },
          'restoring the data on the target',
        );
        return;
      case 'switch':
        return this.switchNode(m, await this.copyBackups(m));
      case 'start': {
        if (!m.wasRunning || instance.desiredState !== 'running') return;
        await this.step(
          m,
          'target',
          { kind: 'instance.start', payload: { instance_id: m.instanceId } },
          'starting the instance on the target',
        );
        return;
      }
      case 'cleanup':
        await this.settle(m, cleanupJobs(m.id, m.instanceId));
        return;
      default:
        return;
    }
  }

  /** Sends (or finds again) the step's agent job and waits for it; anything but success fails the step. */
  private async step(
    m: MigrationEntity,
    side: 'source' | 'target',
    job: AnyJob,
    message: string,
  ): Promise<OperationEntity> {
    await this.progress(m, m.step, 0, message);
    const op = await this.enqueue(m, side, m.step, job);
    const done = await this.awaitOperation(m, op, beforeSwitch(m.step));
    if (done.status !== 'succeeded') {
      const error = done.error ?? { code: done.status, message: `the ${job.kind} job ended ${done.status}` };
      throw new StepFailed({ code: error.code, message: `${m.step}: ${error.message}`, step: m.step });
    }
    return done;
  }

  private enqueue(m: MigrationEntity, side: 'source' | 'target', key: string, job: AnyJob): Promise<OperationEntity> {
    const nodeId = side === 'source' ? m.sourceNodeId : m.targetNodeId;
    return this.jobs.enqueue(
      {
        id: stepOperationId(m.id, key),
        orgId: m.orgId,
        nodeId,
        actor: SYSTEM,
        resources: [`/v1/instances/${m.instanceId}`, `/v1/nodes/${nodeId}`, `/v1/migrations/${m.id}`],
        deadlineSeconds: this.config.migrations.stepDeadlineSeconds,
      },
      job,
    );
  }

  /**
   * Waits for a step's job; a cancel (before the switch) or the watchdog ends the wait, and the job with it where it
   * can be.
   */
  private async awaitOperation(
    m: MigrationEntity,
    op: OperationEntity,
    watchCancel: boolean,
  ): Promise<OperationEntity> {
    const watchdog = this.watchdogs.get(m.id);
    for (;;) {
      if (this.stopping) throw new RunnerStopping();
      const current = await this.waiter.wait(m.orgId, op.id, 1);
      if (OperationsService.isFinal(current.status)) return current;
      watchdog?.observeJob(
        current,
        current.nodeId ? this.tunnel.session(current.nodeId) : undefined,
        this.tunnel.heartbeatMs,
      );
      let error: MigrationError | null = null;
      if (watchCancel && (await this.cancelRequested(m.id)))
        error = { code: 'cancelled', message: 'cancelled on request', step: m.step };
      else if (watchdog?.stalled) error = this.stalledError(m);
      if (error) {
        await this.endOperation(current);
        throw new StepFailed(error);
      }
    }
  }

  /**
   * A job the migration no longer waits for is cancelled, not left open: a queued one is removed,
   * a running cancellable one (a backup) is stopped on the agent. Jobs queued after it for the
   * same instance (the rollback's) would otherwise wait behind it. A running stop, create or
   * restore cannot be cancelled and finishes by itself.
   */
  private async endOperation(op: OperationEntity): Promise<void> {
    await this.jobs
      .cancel(op)
      .catch((err: Error) =>
        this.log.info(
          { operationId: op.id, kind: op.kind, reason: err.message },
          'a migration job left behind runs to its end',
        ),
      );
  }

  private stalledError(m: MigrationEntity): MigrationError {
    return {
      code: 'stalled',
      message: `${m.step}: no progress for ${this.config.migrations.stallSeconds} s (HOSTPLANE_MIGRATIONS_STALL_SECONDS)`,
      step: m.step,
    };
  }

  /**
   * The point of no return: the instance (and what it reserves) moves to the target in one
   * transaction, unless a cancel got in first. State frames from the source are ignored from
   * here on, the target's apply (the state update matches on the instance's node).
   */
  /** The instance's own backups go to the target before the switch (migration-backups.ts). */
  private async copyBackups(m: MigrationEntity): Promise<string[]> {
    const abort = new AbortController();
    this.transferStep.aborts.add(abort);
    try {
      await this.progress(m, 'switch', 0, "copying the instance's backups to the target");
      return await this.nodeBackups.copyToTarget(m, abort.signal);
    } catch (err) {
      if (this.stopping) throw new RunnerStopping();
      const e = err instanceof TransferError ? err : new TransferError('transfer_failed', (err as Error).message);
      throw new StepFailed({ code: e.code, message: e.message, step: 'switch' });
    } finally {
      this.transferStep.aborts.delete(abort);
    }
  }

  private async switchNode(m: MigrationEntity, copiedBackups: string[] = []): Promise<void> {
    const switched = await this.db.transaction(async (tx) => {
      const [row] = (await tx.query(`SELECT cancel_requested FROM migrations WHERE id = $1 FOR UPDATE`, [m.id])) as {
        cancel_requested: boolean;
      }[];
      if (row?.cancel_requested) return false;
      await this.placement.switchNode(tx, m.instanceId, m.id, m.targetNodeId, `migrated from node ${m.sourceNodeId}`);
      await this.ports.switchOver(tx, m);
      await this.nodeBackups.switchOver(tx, m, copiedBackups);
      await tx.query(`UPDATE migrations SET step = 'start', updated_at = now() WHERE id = $1`, [m.id]);
      return true;
    });
    if (!switched) throw new StepFailed({ code: 'cancelled', message: 'cancelled on request', step: 'switch' });
    void this.events.publish(m.orgId, 'instance.state', {
      instance_id: m.instanceId,
      state: 'stopped',
      reason: 'migrated',
      exit_code: null,
      node_id: m.targetNodeId,
    });
    void this.events.publish(m.orgId, 'instance.migrated', {
      instance_id: m.instanceId,
      migration_id: m.id,
      from_node_id: m.sourceNodeId,
      to_node_id: m.targetNodeId,
    });
    // `advance` after this step writes 'start' again: harmless.
  }

  private async toRollback(m: MigrationEntity, error: MigrationError): Promise<void> {
    this.log.info({ migrationId: m.id, error }, 'migration rolls back');
    await this.repo.update(
      { id: m.id },
      {
        step: 'rollback',
        error,
        progressMessage: error.code === 'cancelled' ? 'cancelling' : `rolling back: ${error.message}`.slice(0, 500),
      },
    );
  }

  /**
   * Before the switch the instance never left the source: what the target got is removed, the
   * backups too, and the instance runs again on the source if it ran before (and is still meant to).
   */
  private async rollback(m: MigrationEntity): Promise<void> {
    const instance = await this.db.getRepository(InstanceEntity).findOneBy({ id: m.instanceId });
    const restart = Boolean(instance && m.wasRunning && instance.desiredState === 'running');
    await this.settle(
      m,
      rollbackJobs(m.id, m.instanceId, (m.error?.step ?? 'stop') as MigrationStep, restart),
      ROLLBACK_TARGET_WAIT_S,
    );
    await this.ports.releaseTarget(m);
    // A cancel that came while a failure was already rolling back got what it asked for: it ends cancelled, naming the
    // failure.
    const cancelled = m.error?.code === 'cancelled' || (await this.cancelRequested(m.id));
    const error =
      cancelled && m.error && m.error.code !== 'cancelled'
        ? {
            code: 'cancelled',
            message: `cancelled on request while rolling back (${m.error.message})`.slice(0, 1000),
            step: m.error.step,
          }
        : m.error;
    await this.finish(m, cancelled ? 'cancelled' : 'failed', error);
  }

  /**
   * Queues every job at once, then waits for them together, each a bounded time and only while
   * its node is connected: a node that is away gets its jobs when it returns.
   */
  private async settle(m: MigrationEntity, work: SideJob[], targetWaitS = SETTLE_WAIT_S): Promise<void> {
    const ops = [];
    for (const { side, key, job } of work) ops.push({ op: await this.enqueue(m, side, key, job), side });
    const start = Date.now();
    await Promise.all(
      ops.map(async ({ op, side }) => {
        const done = await this.awaitSettled(m, op, start + (side === 'target' ? targetWaitS : SETTLE_WAIT_S) * 1000);
        if (done && done.status !== 'succeeded')
          this.log.warn(
            { migrationId: m.id, operationId: op.id, kind: op.kind, status: done.status },
            'a migration clean-up job did not succeed (yet)',
          );
      }),
    );
  }

  private async awaitSettled(m: MigrationEntity, op: OperationEntity, until: number): Promise<OperationEntity | null> {
    for (;;) {
      if (this.stopping) throw new RunnerStopping();
      if (!(await this.tunnel.isOnline(op.nodeId!))) return null;
      const current = await this.waiter.wait(m.orgId, op.id, 1);
      if (OperationsService.isFinal(current.status) || Date.now() > until) return current;
    }
  }

  private async advance(m: MigrationEntity, step: MigrationStep): Promise<void> {
    await this.repo.update({ id: m.id }, { step, progressPercent: overallPercent(step) });
  }

  private async progress(
    m: MigrationEntity,
    step: MigrationStep,
    fraction: number,
    message: string,
    bytes?: number,
  ): Promise<void> {
    const percent = overallPercent(step, fraction);
    await this.repo.update(
      { id: m.id },
      {
        progressPercent: percent,
        progressMessage: message,
        ...(bytes !== undefined ? { bytesTransferred: String(bytes) } : {}),
      },
    );
    void this.events.publish(m.orgId, 'migration.progress', {
      migration_id: m.id,
      instance_id: m.instanceId,
      step,
      percent,
      message,
      bytes_transferred: bytes ?? null,
      bytes_total: m.backup?.size_bytes ?? null,
    });
  }

  private async finish(
    m: MigrationEntity,
    status: Exclude<MigrationStatus, 'queued' | 'running'>,
    error: MigrationError | null,
  ): Promise<void> {
    const rows = await this.db.transaction(async (tx) => {
      const res = (await tx.query(
        `UPDATE migrations SET status = $2, step = 'done', error = $3, finished_at = now(), updated_at = now(),
                progress_percent = CASE WHEN $2 = 'succeeded' THEN 100 ELSE progress_percent END,
                progress_message = $4
          WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
        [
          m.id,
          status,
          error ? JSON.stringify(error) : null,
          status === 'succeeded'
            ? 'done'
            : status === 'cancelled'
              ? 'cancelled'
              : `failed: ${error?.message ?? ''}`.slice(0, 500),
        ],
      )) as [unknown[], number];
      await this.placement.releaseFromMigration(tx, m.instanceId, m.id);
      return res[0].length;
    });
    if (!rows) return;
    const done = (await this.repo.findOneBy({ id: m.id }))!;
    this.log.info({ migrationId: m.id, status, error }, 'migration finished');
    void this.events.publish(m.orgId, `migration.${status}`, { ...this.eventData(done), error });
    for (const l of this.finishedListeners) l(done);
  }

  /** The job kept throwing something other than a step failure: give the instance back as it is. */
  private async giveUp(id: string, err: Error): Promise<void> {
    const m = await this.repo.findOneBy({ id }).catch(() => null);
    if (!m || isFinal(m.status)) return;
    this.log.error({ migrationId: id, reason: err.message }, 'migration job failed too often, marking it failed');
    await this.finish(m, 'failed', {
      code: 'internal',
      message: `the hub could not run the migration: ${err.message}`.slice(0, 1000),
      step: m.step,
    }).catch(() => undefined);
  }

  private async cancelRequested(id: string): Promise<boolean> {
    const row = await this.repo.findOne({ where: { id }, select: ['id', 'cancelRequested'] });
    return row?.cancelRequested ?? false;
  }

  private eventData(m: MigrationEntity): Record<string, unknown> {
    return {
      migration_id: m.id,
      instance_id: m.instanceId,
      source_node_id: m.sourceNodeId,
      target_node_id: m.targetNodeId,
      drain_id: m.drainId,
      status: m.status,
      step: m.step,
    };
  }
}

function isFinal(s: MigrationStatus): boolean {
  return s === 'succeeded' || s === 'failed' || s === 'cancelled';
}
