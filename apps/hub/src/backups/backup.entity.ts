import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * `creating` on the node → (`uploading` to S3) → `ready`; `failed` at any step; `deleting` while the node removes it.
 */
export type BackupStatus = 'creating' | 'uploading' | 'ready' | 'failed' | 'deleting';
export type BackupStorage = 'agent' | 's3';

const bigintNumber = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

@Entity('backups')
export class BackupEntity {
  /** Also the archive's id on the node (`backup_id` of the backup jobs and streams). */
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'instance_id', type: 'uuid' }) instanceId!: string;
  /** The node that made the archive (and holds it while `storage` is agent). */
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'jsonb' }) ignore!: string[];
  @Column({ type: 'boolean' }) locked!: boolean;
  @Column({ type: 'text' }) status!: BackupStatus;
  @Column({ type: 'text' }) storage!: BackupStorage;
  @Column({ name: 'storage_config_id', type: 'uuid', nullable: true }) storageConfigId!: string | null;
  @Column({ name: 'object_key', type: 'text', nullable: true }) objectKey!: string | null;
  @Column({ name: 'size_bytes', type: 'bigint', nullable: true, transformer: bigintNumber }) sizeBytes!: number | null;
  @Column({ type: 'text', nullable: true }) sha256!: string | null;
  @Column({ name: 'file_count', type: 'int', nullable: true }) fileCount!: number | null;
  /** The hub operation that tracks the whole backup (archive on the node, then the upload). */
  @Column({ name: 'operation_id', type: 'uuid', nullable: true }) operationId!: string | null;
  /** The node's `instance.backup.create` job. */
  @Column({ name: 'job_id', type: 'uuid', nullable: true }) jobId!: string | null;
  @Column({ type: 'jsonb', nullable: true }) error!: { code: string; message: string } | null;
  /** While uploading: the replica doing it renews this; once it lapses the upload counts as lost. */
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true }) leaseUntil!: Date | null;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt!: Date | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** Where an organization's backups go when it has an active config: an S3-compatible bucket. */
@Entity('backup_storage_configs')
export class BackupStorageConfigEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  /** null = AWS S3 of `region`. */
  @Column({ type: 'text', nullable: true }) endpoint!: string | null;
  @Column({ type: 'text' }) region!: string;
  @Column({ type: 'text' }) bucket!: string;
  @Column({ type: 'text' }) prefix!: string;
  @Column({ name: 'access_key_id', type: 'text' }) accessKeyId!: string;
  /** secret-box sealed, bound to the row id; never returned. */
  @Column({ name: 'secret_access_key_sealed', type: 'text' }) secretAccessKeySealed!: string;
  @Column({ name: 'force_path_style', type: 'boolean' }) forcePathStyle!: boolean;
  @Column({ type: 'boolean' }) active!: boolean;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
