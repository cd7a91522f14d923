import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { DataSource, Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { backupInfo, type JobError, type JobOutcome } from '@hostplane/protocol';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { DomainError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { JobDispatcher } from '../jobs/job-dispatcher';
import type { OperationActor } from '../jobs/operation.entity';
import { readableFromStream, StreamFailedError } from '../tunnel/stream-io';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { TunnelServer } from '../tunnel/tunnel.server';
import { BackupEntity, type BackupStatus } from './backup.entity';
import { BackupConfigService } from './backup-config.service';
import { BackupOperations } from './backup-operations';
import { presentBackup } from './backups.schemas';
import { ByteMeter, megabytes } from './byte-meter';
import { deleteObject, describeS3Error, objectSize, uploadObject } from './s3-storage';
import { NODE_ERRORS } from '../nodes/nodes.errors';
import { BACKUP_ERRORS } from './backups.errors';

export const SYSTEM_ACTOR: OperationActor = { type: 'system', id: null, name: 'backups' };
/** An upload whose replica stops renewing this lease (it died) is marked failed by the sweeper. */
export const UPLOAD_LEASE_MS = 60_000;
const LEASE_RENEW_MS = 15_000;
const PROGRESS_EVERY_MS = 500;
/** Codes an agent may answer a delete with when the archive is already gone. */
const GONE_CODES = new Set(['not_found', 'backup_not_found']);

export function backupPaths(b: Pick<BackupEntity, 'id' | 'instanceId' | 'nodeId'>): string[] {
  return [`/v1/instances/${b.instanceId}`, `/v1/instances/${b.instanceId}/backups/${b.id}`, `/v1/nodes/${b.nodeId}`];
}

/** A failure as `{code, message}` for the backup row and its operation. */
export function jobErrorOf(err: unknown): JobError {
  if (err instanceof DomainError || err instanceof StreamOpenError || err instanceof StreamFailedError)
    return { code: err.code, message: err.message };
  if ((err as { $metadata?: unknown }).$metadata)
    return { code: 'storage_error', message: `backup storage: ${describeS3Error(err)}` };
  return { code: 'internal_error', message: (err as Error).message ?? String(err) };
}

/**
 * What happens after the node's job: the archive is recorded (storage agent), or streamed from
 * the node through this replica into S3, checked, and the node's copy removed (storage s3).
 * Every step is a conditional status change, so a repeated outcome or a sweeper re-run applies once.
 */
@Injectable()
export class BackupPipeline implements OnModuleInit {
  readonly repo: Repository<BackupEntity>;

  constructor(
    @Inject(DataSource) db: DataSource,
    private readonly jobs: JobDispatcher,
    private readonly tunnel: TunnelServer,
    private readonly domainEvents: DomainEventBus,
    private readonly configs: BackupConfigService,
    private readonly ops: BackupOperations,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.repo = db.getRepository(BackupEntity);
  }

  onModuleInit(): void {
    this.domainEvents.on('operation.finished', ({ op, outcome }) => {
      const backupId = (op.payload as { backup_id?: unknown }).backup_id;
      if (typeof backupId !== 'string') return;
      if (op.kind === 'instance.backup.create') return this.onArchived(backupId, outcome);
      if (op.kind === 'instance.backup.delete') return this.onNodeCopyDeleted(backupId, outcome);
      return undefined;
    });
  }

  /** The node finished (or failed) the archive of backup `backupId`. */
  async onArchived(backupId: string, outcome: JobOutcome): Promise<void> {
    const b = await this.repo.findOneBy({ id: backupId });
    if (!b || b.status !== 'creating') return;
    if (b.jobId) this.ops.unmirror(b.jobId);
    if (outcome.status !== 'succeeded') {
      const error =
        outcome.status === 'failed' ? outcome.error : { code: 'cancelled', message: 'the backup was cancelled' };
      if (await this.transition(b, 'creating', 'failed', { error })) {
        await this.ops.finish(
          b.operationId,
          outcome.status === 'cancelled' ? { status: 'cancelled' } : { status: 'failed', error },
        );
      }
      return;
    }
    const info = backupInfo.safeParse(outcome.result);
    if (!info.success) {
      const error = { code: 'agent_error', message: 'the node reported the backup in an unexpected shape' };
      if (await this.transition(b, 'creating', 'failed', { error }))
        await this.ops.finish(b.operationId, { status: 'failed', error });
      return;
    }
    const facts = { sizeBytes: info.data.size_bytes, sha256: info.data.sha256, fileCount: info.data.file_count };
    if (b.storage === 'agent') {
      if (await this.transition(b, 'creating', 'ready', { ...facts, completedAt: new Date() }))
        await this.ops.finish(b.operationId, { status: 'succeeded', result: presentBackup(b) });
      return;
    }
    // Only the replica holding the node's socket can read the archive; on any other the sweeper
    // of the one that does picks the row up.
    if (!this.tunnel.session(b.nodeId)) return;
    if (
      !(await this.transition(b, 'creating', 'uploading', {
        ...facts,
        leaseUntil: new Date(Date.now() + UPLOAD_LEASE_MS),
      }))
    )
      return;
    await this.upload(b);
  }

  /** node → this replica → S3, hashed on the way; the agent copy goes once S3 holds every byte. */
  private async upload(b: BackupEntity): Promise<void> {
    const op = { id: b.operationId!, orgId: b.orgId };
    const size = b.sizeBytes ?? 0;
    const renew = setInterval(
      () =>
        void this.repo
          .update({ id: b.id, status: 'uploading' }, { leaseUntil: new Date(Date.now() + UPLOAD_LEASE_MS) })
          .catch(() => undefined),
      LEASE_RENEW_MS,
    );
    const started = Date.now();
    let source: Readable | undefined;
    try {
      const target = await this.configs.targetById(b.orgId, b.storageConfigId!);
      const session = this.tunnel.session(b.nodeId);
      if (!session) throw NODE_ERRORS.node_offline.error('the node disconnected before the upload started');
      const stream = await this.tunnel.streams.open(session, 'backup.read', {
        instance_id: b.instanceId,
        backup_id: b.id,
      });
      const announced = stream.meta.size_bytes;
      if (typeof announced === 'number' && announced !== size) {
        stream.close('size differs from the job result');
        throw BACKUP_ERRORS.size_mismatch.error(`the node's archive is ${announced} bytes, its job reported ${size}`);
      }
      source = readableFromStream(stream);
      const meter = new ByteMeter();
      source.on('error', (err) => meter.destroy(err));
      source.pipe(meter);
      let last = 0;
      await uploadObject(target, b.objectKey!, meter, size, (loaded) => {
        if (Date.now() - last < PROGRESS_EVERY_MS && loaded < size) return;
        last = Date.now();
        const fraction = size ? Math.min(1, loaded / size) : 1;
        void this.ops.progress(op, 50 + 49 * fraction, `uploading to S3: ${megabytes(loaded)} of ${megabytes(size)}`);
        this.ops.publish(b.orgId, 'backup.progress', {
          backup_id: b.id,
          instance_id: b.instanceId,
          phase: 'upload',
          bytes: loaded,
          size_bytes: size,
        });
      });
      const sha = meter.digest();
      if (meter.bytes !== size || sha !== b.sha256) {
        await deleteObject(target, b.objectKey!).catch(() => undefined);
        throw BACKUP_ERRORS.checksum_mismatch.error(
          `the archive read from the node (${meter.bytes} bytes, sha256 ${sha}) differs from what its job reported`,
        );
      }
      const stored = await objectSize(target, b.objectKey!);
      if (stored !== size) {
        await deleteObject(target, b.objectKey!).catch(() => undefined);
        throw BACKUP_ERRORS.size_mismatch.error(
          `the storage holds ${stored ?? 'no'} bytes for the archive, expected ${size}`,
        );
      }
      if (!(await this.transition(b, 'uploading', 'ready', { completedAt: new Date(), leaseUntil: null }))) {
        // The sweeper declared this upload lost meanwhile: the row says failed, so the object must go.
        await deleteObject(target, b.objectKey!).catch(() => undefined);
        return;
      }
      const seconds = (Date.now() - started) / 1000;
      this.log.info(
        { backupId: b.id, bytes: size, seconds, mbPerSecond: seconds ? size / 1024 / 1024 / seconds : null },
        'backup uploaded to S3',
      );
      await this.deleteNodeCopy(b, b.id);
      await this.ops.finish(b.operationId, { status: 'succeeded', result: presentBackup(b) });
    } catch (err) {
      const error = jobErrorOf(err);
      this.log.warn({ backupId: b.id, error }, 'backup upload to S3 failed');
      if (await this.transition(b, 'uploading', 'failed', { error, leaseUntil: null })) {
        await this.deleteNodeCopy(b, b.id);
        await this.ops.finish(b.operationId, { status: 'failed', error });
      }
    } finally {
      clearInterval(renew);
      // Ends the node's stream if the upload stopped midway (no-op once it was read to the end).
      source?.destroy();
    }
  }

  /** The node removed (or could not remove) an archive a user deleted. */
  async onNodeCopyDeleted(backupId: string, outcome: JobOutcome): Promise<void> {
    const b = await this.repo.findOneBy({ id: backupId });
    if (!b || b.status !== 'deleting') return;
    const gone = outcome.status === 'succeeded' || (outcome.status === 'failed' && GONE_CODES.has(outcome.error.code));
    if (gone) {
      const res = await this.repo.delete({ id: b.id, status: 'deleting' });
      if (res.affected) this.ops.publish(b.orgId, 'backup.deleted', { backup_id: b.id, instance_id: b.instanceId });
      return;
    }
    const why = outcome.status === 'failed' ? outcome.error.message : outcome.status;
    await this.transition(b, 'deleting', 'ready', {
      error: { code: 'delete_failed', message: `the node could not delete the archive: ${why}` },
    });
  }

  /** Queues removal of an archive on the node; it waits there for the node if it is away. */
  async deleteNodeCopy(
    b: Pick<BackupEntity, 'id' | 'orgId' | 'instanceId' | 'nodeId'>,
    agentBackupId: string,
    actor: OperationActor = SYSTEM_ACTOR,
  ) {
    try {
      return await this.jobs.enqueue(
        { orgId: b.orgId, nodeId: b.nodeId, actor, resources: backupPaths(b) },
        { kind: 'instance.backup.delete', payload: { instance_id: b.instanceId, backup_id: agentBackupId } },
      );
    } catch (err) {
      this.log.warn(
        { backupId: b.id, reason: (err as Error).message },
        'could not queue the removal of a backup archive on its node',
      );
      return null;
    }
  }

  /** `from` → `to` if the row is still `from`; updates `b` and announces the change. */
  async transition(
    b: BackupEntity,
    from: BackupStatus,
    to: BackupStatus,
    fields: Partial<BackupEntity> = {},
  ): Promise<boolean> {
    const res = await this.repo
      .createQueryBuilder()
      .update(BackupEntity)
      .set({ ...fields, status: to } as QueryDeepPartialEntity<BackupEntity>)
      .where('id = :id AND status = :from', { id: b.id, from })
      .execute();
    if (!res.affected) return false;
    Object.assign(b, fields, { status: to });
    this.ops.status(b);
    return true;
  }
}
