import { NodeNotConnectedError } from '../tunnel/relay/node-streams';
import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { HUB_LOGGER } from '../http/logger';
import type { InstanceEntity } from '../instances/instance.entity';
import { JobDispatcher } from '../jobs/job-dispatcher';
import type { OperationActor, OperationEntity } from '../jobs/operation.entity';
import { OperationWaiter } from '../jobs/operation-waiter';
import { OperationsService } from '../jobs/operations.service';
import { pipeIntoStream } from '../tunnel/stream-io';
import { TunnelServer } from '../tunnel/tunnel.server';
import { NodeStreams } from '../tunnel/relay/node-streams';
import type { BackupEntity } from './backup.entity';
import { BackupConfigService } from './backup-config.service';
import { BackupOperations, type HubOutcome } from './backup-operations';
import { backupPaths, BackupPipeline, jobErrorOf } from './backup-pipeline';
import { ByteMeter, megabytes } from './byte-meter';
import { readObject } from './s3-storage';
import { BACKUP_ERRORS } from './backups.errors';

/** A running restore moves its operation at least this often; the sweeper fails one that stops. */
export const RESTORE_HEARTBEAT_MS = 15_000;
const WAIT_SLICE_S = 60;
/** Share of the operation's progress for pushing an S3 archive to the node; the rest is the extraction. */
const PUSH_SHARE = 60;

/**
 * Restores a ready backup into its (stopped) instance. From the node's own archive it is one
 * job; from S3 this replica first streams the object into the node (`backup.write`, verified
 * against the SHA-256 there), runs the same job on that staged copy, then removes the copy.
 */
@Injectable()
export class BackupRestorer {
  constructor(
    private readonly jobs: JobDispatcher,
    private readonly waiter: OperationWaiter,
    private readonly operations: OperationsService,
    private readonly tunnel: TunnelServer,
    private readonly nodeStreams: NodeStreams,
    private readonly configs: BackupConfigService,
    private readonly ops: BackupOperations,
    private readonly pipeline: BackupPipeline,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  async start(
    actor: OperationActor,
    instance: InstanceEntity,
    b: BackupEntity,
    truncate: boolean,
  ): Promise<OperationEntity> {
    if (b.storage === 's3' && !(await this.tunnel.isOnline(instance.nodeId))) throw new NodeNotConnectedError();
    const op = await this.ops.start('backup.restore', {
      orgId: b.orgId,
      actor,
      resources: backupPaths({ ...b, nodeId: instance.nodeId }),
      payload: { instance_id: instance.id, backup_id: b.id, storage: b.storage, truncate },
    });
    void this.run(op, actor, instance, b, truncate).catch((err: unknown) =>
      this.log.error({ opId: op.id, reason: (err as Error).message }, 'restore driver failed'),
    );
    return op;
  }

  private async run(
    op: OperationEntity,
    actor: OperationActor,
    instance: InstanceEntity,
    b: BackupEntity,
    truncate: boolean,
  ): Promise<void> {
    const beat = setInterval(() => void this.touch(op.id), RESTORE_HEARTBEAT_MS);
    const staging = b.storage === 's3' ? `restore-${randomBytes(9).toString('base64url')}` : null;
    const target = { id: b.id, orgId: b.orgId, instanceId: instance.id, nodeId: instance.nodeId };
    this.ops.publish(b.orgId, 'backup.restore', {
      backup_id: b.id,
      instance_id: instance.id,
      operation_id: op.id,
      status: 'started',
    });
    let outcome: HubOutcome;
    try {
      if (staging) await this.pushToNode(op, instance, b, staging);
      const job = await this.jobs.enqueue(
        { orgId: b.orgId, nodeId: instance.nodeId, actor, resources: backupPaths(target) },
        {
          kind: 'instance.backup.restore',
          payload: { instance_id: instance.id, backup_id: staging ?? b.id, sha256: b.sha256 ?? undefined, truncate },
        },
      );
      this.ops.mirror(
        job.id,
        op,
        staging ? PUSH_SHARE : 0,
        staging ? (100 - PUSH_SHARE) / 100 : 1,
        'restoring on the node',
      );
      const done = await this.untilFinal(b.orgId, job.id);
      this.ops.unmirror(job.id);
      if (done.status === 'succeeded') {
        const fileCount = (done.result as { file_count?: unknown } | null)?.file_count;
        outcome = {
          status: 'succeeded',
          result: {
            backup_id: b.id,
            instance_id: instance.id,
            restore_job_id: job.id,
            file_count: typeof fileCount === 'number' ? fileCount : null,
          },
        };
      } else if (done.status === 'cancelled') outcome = { status: 'cancelled' };
      else
        outcome = {
          status: 'failed',
          error: done.error ?? { code: done.status, message: `the restore job ended ${done.status}` },
        };
    } catch (err) {
      outcome = { status: 'failed', error: jobErrorOf(err) };
    } finally {
      clearInterval(beat);
    }
    if (staging) await this.pipeline.deleteNodeCopy(target, staging);
    await this.ops.finish(op.id, outcome);
    const error = outcome.status === 'failed' ? outcome.error : null;
    this.ops.publish(b.orgId, 'backup.restore', {
      backup_id: b.id,
      instance_id: instance.id,
      operation_id: op.id,
      status: outcome.status,
      error,
    });
  }

  /** S3 → this replica → the node, with the node's credit as backpressure: nothing piles up here. */
  private async pushToNode(
    op: OperationEntity,
    instance: InstanceEntity,
    b: BackupEntity,
    staging: string,
  ): Promise<void> {
    const size = b.sizeBytes ?? 0;
    const target = await this.configs.targetById(b.orgId, b.storageConfigId!);
    const object = await readObject(target, b.objectKey!);
    let stream;
    try {
      stream = await this.nodeStreams.open(instance.nodeId, 'backup.write', {
        instance_id: instance.id,
        backup_id: staging,
        size_bytes: size,
        sha256: b.sha256!,
      });
    } catch (err) {
      object.body.destroy();
      throw err;
    }
    let last = 0;
    const meter = new ByteMeter((bytes) => {
      if (Date.now() - last < 500 && bytes < size) return;
      last = Date.now();
      const fraction = size ? Math.min(1, bytes / size) : 1;
      void this.ops.progress(
        op,
        PUSH_SHARE * fraction,
        `copying from S3 to the node: ${megabytes(bytes)} of ${megabytes(size)}`,
      );
      this.ops.publish(b.orgId, 'backup.progress', {
        backup_id: b.id,
        instance_id: instance.id,
        phase: 'restore',
        bytes,
        size_bytes: size,
      });
    });
    object.body.on('error', (err) => meter.destroy(err));
    object.body.pipe(meter);
    let info;
    try {
      info = await pipeIntoStream(meter, stream);
    } finally {
      // The node refused midway: stop reading the object too.
      object.body.destroy();
    }
    const sha = meter.digest();
    if (meter.bytes !== size || sha !== b.sha256) {
      throw BACKUP_ERRORS.checksum_mismatch.error(
        `the stored object (${meter.bytes} bytes, sha256 ${sha}) is not the archive that was backed up`,
      );
    }
    if (info.bytes !== undefined && info.bytes !== size)
      throw BACKUP_ERRORS.size_mismatch.error(`the node took ${info.bytes} of ${size} bytes`);
  }

  private async untilFinal(orgId: string, jobId: string): Promise<OperationEntity> {
    for (;;) {
      const op = await this.waiter.wait(orgId, jobId, WAIT_SLICE_S);
      if (OperationsService.isFinal(op.status)) return op;
    }
  }

  private async touch(opId: string): Promise<void> {
    await this.operations.repo
      .update({ id: opId, status: 'running' }, { updatedAt: new Date() })
      .catch(() => undefined);
  }
}
