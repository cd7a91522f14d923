import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DataSource, Not, Repository } from 'typeorm';
import { PermissionDeniedError } from '../access/access.errors';
import { hasPermission, inOrg, type Principal } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { ConflictError, DomainError, NotFoundError } from '../http/errors';
import type { InstanceEntity } from '../instances/instance.entity';
import { InstancesService } from '../instances/instances.service';
import { JobDispatcher } from '../jobs/job-dispatcher';
import { actorOf } from '../jobs/operation-actor';
import type { OperationEntity } from '../jobs/operation.entity';
import { readableFromStream } from '../tunnel/stream-io';
import { StreamOpenError } from '../tunnel/tunnel-streams';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { BackupEntity } from './backup.entity';
import { BackupConfigService } from './backup-config.service';
import { BackupOperations } from './backup-operations';
import { backupPaths, BackupPipeline, jobErrorOf } from './backup-pipeline';
import { BackupRestorer } from './backup-restore';
import type { CreateBackupBody, ListBackupsQuery, RestoreBackupBody, UpdateBackupBody } from './backups.schemas';
import { deleteObject, objectKeyFor, readObject, storageError } from './s3-storage';
import { HTTP_ERRORS } from '../http/http.errors';

/** Hub states in which nothing runs in the instance root, so it may be replaced. */
const RESTORABLE_STATES = new Set(['stopped', 'crashed', 'failed']);

export interface BackupDownload {
  body: Readable;
  sizeBytes: number;
  sha256: string;
  filename: string;
}

/** Backups of instances: the API's side (limits, states, who may do what to which row). */
@Injectable()
export class BackupsService {
  readonly repo: Repository<BackupEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly instances: InstancesService,
    private readonly jobs: JobDispatcher,
    private readonly nodeStreams: NodeStreams,
    private readonly configs: BackupConfigService,
    private readonly ops: BackupOperations,
    private readonly pipeline: BackupPipeline,
    private readonly restorer: BackupRestorer,
  ) {
    this.repo = db.getRepository(BackupEntity);
  }

  async list(p: Principal, instanceId: string, q: ListBackupsQuery) {
    const instance = await this.instances.get(p, instanceId);
    const where = inOrg(p, { instanceId: instance.id, ...(q.status ? { status: q.status } : {}) });
    const [data, total] = await this.repo.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    return { data, total };
  }

  async get(p: Principal, instanceId: string, id: string): Promise<{ instance: InstanceEntity; backup: BackupEntity }> {
    const instance = await this.instances.get(p, instanceId);
    const backup = await this.repo.findOneBy(inOrg(p, { id, instanceId: instance.id }));
    if (!backup) throw new NotFoundError(`backup ${id}`);
    return { instance, backup };
  }

  async create(
    p: Principal,
    instanceId: string,
    body: CreateBackupBody,
  ): Promise<{ backup: BackupEntity; operation: OperationEntity }> {
    const instance = await this.instances.get(p, instanceId);
    if (instance.state === 'pending' || instance.state === 'deleting')
      throw new ConflictError(`cannot back up an instance that is ${instance.state}`, 'instance_busy');
    const storage = await this.configs.activeOf(instance.orgId);
    const id = randomUUID();
    const now = new Date();
    const backup = this.repo.create({
      id,
      orgId: instance.orgId,
      instanceId: instance.id,
      nodeId: instance.nodeId,
      name: body.name ?? `Backup ${now.toISOString().slice(0, 19).replace('T', ' ')} UTC`,
      ignore: body.ignore,
      locked: body.locked,
      status: 'creating',
      storage: storage ? 's3' : 'agent',
      storageConfigId: storage?.id ?? null,
      objectKey: storage
        ? objectKeyFor(storage.prefix, { orgId: instance.orgId, instanceId: instance.id, backupId: id })
        : null,
      createdBy: p.userId,
    });
    const limit = this.config.backups.maxPerInstance;
    await this.db.transaction(async (tx) => {
      // Concurrent requests for one instance count one after the other.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`backups:${instance.id}`]);
      const count = await tx.getRepository(BackupEntity).countBy({ instanceId: instance.id, status: Not('failed') });
      if (count >= limit)
        throw new ConflictError(
          `this instance has ${count} backups, the limit is ${limit}: delete one first`,
          'backup_limit_reached',
        );
      await tx.getRepository(BackupEntity).insert(backup);
    });
    this.ops.status(backup);
    const actor = actorOf(p);
    const operation = await this.ops.start('backup.create', {
      orgId: instance.orgId,
      actor,
      resources: backupPaths(backup),
      payload: { instance_id: instance.id, backup_id: id, storage: backup.storage },
    });
    await this.repo.update({ id }, { operationId: operation.id });
    backup.operationId = operation.id;
    try {
      const job = await this.jobs.enqueue(
        { orgId: instance.orgId, nodeId: instance.nodeId, actor, resources: backupPaths(backup) },
        { kind: 'instance.backup.create', payload: { instance_id: instance.id, backup_id: id, ignore: body.ignore } },
      );
      this.ops.mirror(job.id, operation, 0, backup.storage === 's3' ? 0.5 : 1, 'archiving on the node');
      await this.repo.update({ id }, { jobId: job.id });
      backup.jobId = job.id;
    } catch (err) {
      const error = jobErrorOf(err);
      await this.pipeline.transition(backup, 'creating', 'failed', { error });
      await this.ops.finish(operation.id, { status: 'failed', error });
      throw err;
    }
    return { backup: (await this.repo.findOneBy({ id })) ?? backup, operation };
  }

  async update(p: Principal, instanceId: string, id: string, body: UpdateBackupBody): Promise<BackupEntity> {
    // Unlocking is the step before deleting: it needs what deleting needs.
    if (body.locked === false && !hasPermission(p, 'backups.delete')) throw new PermissionDeniedError('backups.delete');
    const { backup } = await this.get(p, instanceId, id);
    await this.repo.update(
      { id: backup.id },
      {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.locked !== undefined ? { locked: body.locked } : {}),
      },
    );
    return (await this.repo.findOneBy({ id: backup.id }))!;
  }

  /** Null when the backup is gone already (S3, or a failed one); an operation while the node deletes it. */
  async remove(p: Principal, instanceId: string, id: string): Promise<OperationEntity | null> {
    const { backup: b } = await this.get(p, instanceId, id);
    if (b.locked)
      throw new ConflictError('this backup is locked: unlock it first (PATCH {"locked": false})', 'backup_locked');
    if (b.status === 'creating' || b.status === 'uploading' || b.status === 'deleting')
      throw new ConflictError(`this backup is ${b.status}: wait until it is ready or failed`, 'backup_busy');
    if (b.status === 'failed' || b.storage === 's3') {
      if (b.storage === 's3' && b.storageConfigId && b.objectKey) {
        try {
          await deleteObject(await this.configs.targetById(b.orgId, b.storageConfigId), b.objectKey);
        } catch (err) {
          if (b.status !== 'failed') throw storageError('deleting the archive', err);
        }
      }
      const res = await this.repo.delete({ id: b.id, status: b.status });
      if (!res.affected) throw new ConflictError('this backup changed meanwhile: try again', 'backup_busy');
      this.ops.publish(b.orgId, 'backup.deleted', { backup_id: b.id, instance_id: b.instanceId });
      return null;
    }
    if (!(await this.pipeline.transition(b, 'ready', 'deleting')))
      throw new ConflictError('this backup changed meanwhile: try again', 'backup_busy');
    const job = await this.pipeline.deleteNodeCopy(b, b.id, actorOf(p));
    if (!job) {
      await this.pipeline.transition(b, 'deleting', 'ready');
      throw HTTP_ERRORS.unavailable.error('the delete could not be queued: try again');
    }
    await this.repo.update({ id: b.id }, { jobId: job.id });
    return job;
  }

  async restore(
    p: Principal,
    instanceId: string,
    id: string,
    body: RestoreBackupBody,
  ): Promise<{ backup: BackupEntity; operation: OperationEntity }> {
    const { instance, backup } = await this.get(p, instanceId, id);
    if (backup.status !== 'ready')
      throw new ConflictError(
        `this backup is ${backup.status}: only a ready backup can be restored`,
        'backup_not_ready',
      );
    if (!RESTORABLE_STATES.has(instance.state)) {
      throw new ConflictError(
        `the instance is ${instance.state}: stop it before restoring a backup into it`,
        'instance_not_stopped',
      );
    }
    if (backup.storage === 'agent' && backup.nodeId !== instance.nodeId) {
      throw new ConflictError(
        'this backup is kept on another node than the instance now runs on',
        'backup_on_other_node',
      );
    }
    return { backup, operation: await this.restorer.start(actorOf(p), instance, backup, body.truncate) };
  }

  /** The archive as a stream: from S3, or from the node through its tunnel (this replica must hold its socket). */
  async download(p: Principal, instanceId: string, id: string): Promise<BackupDownload> {
    const { instance, backup: b } = await this.get(p, instanceId, id);
    if (b.status !== 'ready' || b.sizeBytes === null || !b.sha256)
      throw new ConflictError(`this backup is ${b.status}: only a ready backup can be downloaded`, 'backup_not_ready');
    const filename = `${instance.name}-${b.createdAt.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}.tar.gz`;
    if (b.storage === 's3') {
      try {
        const object = await readObject(await this.configs.targetById(b.orgId, b.storageConfigId!), b.objectKey!);
        return { body: object.body, sizeBytes: b.sizeBytes, sha256: b.sha256, filename };
      } catch (err) {
        if (err instanceof DomainError) throw err;
        throw storageError('reading the archive', err);
      }
    }
    try {
      const stream = await this.nodeStreams.open(b.nodeId, 'backup.read', {
        instance_id: b.instanceId,
        backup_id: b.id,
      });
      return { body: readableFromStream(stream), sizeBytes: b.sizeBytes, sha256: b.sha256, filename };
    } catch (err) {
      if (err instanceof StreamOpenError)
        throw new DomainError(
          `the node cannot send the archive: ${err.message}`,
          err.code,
          err.code.includes('not_found') ? 404 : 502,
        );
      throw err;
    }
  }
}
