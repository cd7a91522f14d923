import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import { inOrg, requireOrg, type Principal } from '../access/principal';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { openSecret, sealSecret } from '../crypto/secret-box';
import { ConflictError, DomainError, NotFoundError } from '../http/errors';
import type { Pagination } from '../http/pagination';
import { BackupEntity, BackupStorageConfigEntity } from './backup.entity';
import type { CreateStorageConfigBody, UpdateStorageConfigBody } from './backup-config.schemas';
import { OutboundHttp } from '../outbound/outbound-http';
import { OutboundRefusedError } from '../outbound/guarded-connect';
import { createBucket, describeS3Error, listBuckets, probeBucket, S3Target, storageError } from './s3-storage';
import { HTTP_ERRORS } from '../http/http.errors';
import { BACKUP_ERRORS } from './backups.errors';
import { withUniqueName } from '../http/unique-names';

export class StorageUnreachableError extends DomainError {
  constructor(bucket: string, err: unknown) {
    super(`bucket "${bucket}" cannot be written with this config: ${describeS3Error(err)}`, 'storage_unreachable', 422);
  }
}

/** The ciphertext is bound to its row: copied into another config's row it does not decrypt. */
const aadOf = (configId: string) => `backup_storage_config:${configId}`;

/** S3-compatible backup storage of organizations: at most one active config each. */
@Injectable()
export class BackupConfigService {
  readonly repo: Repository<BackupStorageConfigEntity>;

  constructor(
    @Inject(DataSource) private readonly db: DataSource,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(OutboundHttp) private readonly outbound: OutboundHttp,
  ) {
    this.repo = db.getRepository(BackupStorageConfigEntity);
  }

  async list(p: Principal, page: Pagination) {
    const [data, total] = await this.repo.findAndCount({
      where: inOrg(p, {}),
      order: { createdAt: 'ASC' },
      skip: page.offset,
      take: page.limit,
    });
    return { data, total };
  }

  async get(p: Principal, id: string): Promise<BackupStorageConfigEntity> {
    const c = await this.repo.findOneBy(inOrg(p, { id }));
    if (!c) throw new NotFoundError(`backup config ${id}`);
    return c;
  }

  async active(p: Principal): Promise<BackupStorageConfigEntity> {
    const c = await this.activeOf(requireOrg(p).id);
    if (!c)
      throw HTTP_ERRORS.not_found.error(
        'this organization has no active backup storage config: backups stay on the nodes',
      );
    return c;
  }

  activeOf(orgId: string): Promise<BackupStorageConfigEntity | null> {
    return this.repo.findOneBy({ orgId, active: true });
  }

  async create(p: Principal, body: CreateStorageConfigBody): Promise<BackupStorageConfigEntity> {
    const id = randomUUID();
    const row = this.repo.create({
      id,
      orgId: requireOrg(p).id,
      name: body.name,
      endpoint: body.endpoint,
      region: body.region,
      bucket: body.bucket,
      prefix: body.prefix,
      accessKeyId: body.access_key_id,
      secretAccessKeySealed: sealSecret(this.config.secrets.encryptionKey, body.secret_access_key, aadOf(id)),
      forcePathStyle: body.force_path_style,
      active: false,
      createdBy: p.userId,
    });
    if (body.active) await this.assertReachable(row);
    const saved = await this.saveNamed(row);
    return body.active ? this.activate(p, saved.id) : saved;
  }

  async update(p: Principal, id: string, body: UpdateStorageConfigBody): Promise<BackupStorageConfigEntity> {
    const c = await this.get(p, id);
    if (body.name !== undefined) c.name = body.name;
    if (body.endpoint !== undefined) c.endpoint = body.endpoint;
    if (body.region !== undefined) c.region = body.region;
    if (body.bucket !== undefined) c.bucket = body.bucket;
    if (body.prefix !== undefined) c.prefix = body.prefix;
    if (body.access_key_id !== undefined) c.accessKeyId = body.access_key_id;
    if (body.force_path_style !== undefined) c.forcePathStyle = body.force_path_style;
    if (body.secret_access_key !== undefined)
      c.secretAccessKeySealed = sealSecret(this.config.secrets.encryptionKey, body.secret_access_key, aadOf(c.id));
    // Backups already stored keep their object keys; a changed bucket or endpoint must still hold them.
    const where = body.bucket !== undefined || body.endpoint !== undefined || body.region !== undefined;
    if (where && (await this.storedBackups(c.id)) > 0) {
      throw new ConflictError(
        'backups are stored with this config: create a new config for another bucket or endpoint (credentials and name can change)',
        'config_in_use',
      );
    }
    if (c.active) await this.assertReachable(c);
    return this.saveNamed(c);
  }

  async remove(p: Principal, id: string): Promise<void> {
    const c = await this.get(p, id);
    const stored = await this.storedBackups(c.id);
    if (stored > 0)
      throw new ConflictError(`${stored} backup(s) are stored with this config: delete them first`, 'config_in_use');
    await this.db.transaction(async (tx) => {
      // Failed backups hold no object; they only point at the config.
      await tx.getRepository(BackupEntity).delete({ storageConfigId: c.id, status: 'failed' });
      await tx.getRepository(BackupStorageConfigEntity).delete({ id: c.id });
    });
  }

  /** One active config per organization: the others are deactivated in the same transaction. */
  async activate(p: Principal, id: string): Promise<BackupStorageConfigEntity> {
    const c = await this.get(p, id);
    await this.assertReachable(c);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE backup_storage_configs SET active = false, updated_at = now() WHERE org_id = $1 AND active AND id <> $2`,
        [c.orgId, c.id],
      );
      await tx.query(`UPDATE backup_storage_configs SET active = true, updated_at = now() WHERE id = $1`, [c.id]);
    });
    return this.get(p, id);
  }

  async deactivate(p: Principal, id: string): Promise<BackupStorageConfigEntity> {
    const c = await this.get(p, id);
    await this.repo.update({ id: c.id }, { active: false });
    return this.get(p, id);
  }

  async buckets(p: Principal, configId: string) {
    const t = this.targetOf(await this.get(p, configId));
    try {
      const data = await listBuckets(t);
      return { data, total: data.length };
    } catch (err) {
      throw storageError('listing buckets', err);
    }
  }

  async createBucket(p: Principal, configId: string, bucket: string): Promise<{ name: string }> {
    const t = this.targetOf(await this.get(p, configId));
    try {
      await createBucket(t, bucket);
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists')
        throw new ConflictError(`bucket "${bucket}" already exists`, 'bucket_exists');
      throw storageError(`creating bucket "${bucket}"`, err);
    }
    return { name: bucket };
  }

  /** Credentials of a config for the hub's own use (never sent to agents, never logged). */
  targetOf(c: BackupStorageConfigEntity): S3Target {
    return {
      endpoint: c.endpoint,
      region: c.region,
      bucket: c.bucket,
      accessKeyId: c.accessKeyId,
      secretAccessKey: openSecret(this.config.secrets.encryptionKey, c.secretAccessKeySealed, aadOf(c.id)),
      forcePathStyle: c.forcePathStyle,
      via: this.outbound,
    };
  }

  async targetById(orgId: string, id: string): Promise<S3Target> {
    const c = await this.repo.findOneBy({ id, orgId });
    if (!c) throw BACKUP_ERRORS.storage_config_gone.error('the storage config of this backup is gone');
    return this.targetOf(c);
  }

  private async assertReachable(c: BackupStorageConfigEntity): Promise<void> {
    try {
      await probeBucket(this.targetOf(c), c.prefix);
    } catch (err) {
      if (err instanceof OutboundRefusedError) throw err;
      throw new StorageUnreachableError(c.bucket, err);
    }
  }

  private storedBackups(configId: string): Promise<number> {
    return this.db
      .getRepository(BackupEntity)
      .createQueryBuilder('b')
      .where('b.storage_config_id = :configId', { configId })
      .andWhere(`b.status <> 'failed'`)
      .getCount();
  }

  private saveNamed(row: BackupStorageConfigEntity): Promise<BackupStorageConfigEntity> {
    return withUniqueName(() => this.repo.save(row), `a backup config named "${row.name}" already exists`);
  }
}
