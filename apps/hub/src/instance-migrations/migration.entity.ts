import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { OperationActor } from '../jobs/operation.entity';
import type { MigrationStep } from './migration-plan';

export type MigrationStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const OPEN_MIGRATION_STATUSES: readonly MigrationStatus[] = ['queued', 'running'];

export interface MigrationBackup {
  backup_id: string;
  size_bytes: number;
  sha256: string;
}

export interface MigrationError {
  code: string;
  message: string;
  /** The step that failed (or was running when the cancel came). */
  step?: string;
}

/**
 * One instance moving from its node to another. The row is the migration's memory: the runner
 * resumes from `step` after a hub restart, and every agent job of a step has an id derived from
 * the migration id and the step, so a resumed step finds its job instead of sending a second one.
 */
@Entity('migrations')
@Index(['orgId', 'createdAt'])
export class MigrationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'instance_id', type: 'uuid' }) instanceId!: string;
  @Column({ name: 'source_node_id', type: 'uuid' }) sourceNodeId!: string;
  @Column({ name: 'target_node_id', type: 'uuid' }) targetNodeId!: string;
  /** Migrations started together (one request, or one drain) share a batch and its `max_parallel`. */
  @Column({ name: 'batch_id', type: 'uuid' }) batchId!: string;
  @Column({ name: 'max_parallel', type: 'int', default: 1 }) maxParallel!: number;
  @Column({ name: 'drain_id', type: 'uuid', nullable: true }) drainId!: string | null;
  @Column({ type: 'text' }) status!: MigrationStatus;
  @Column({ type: 'text' }) step!: MigrationStep;
  @Column({ name: 'progress_percent', type: 'real', default: 0 }) progressPercent!: number;
  @Column({ name: 'progress_message', type: 'text', nullable: true }) progressMessage!: string | null;
  @Column({ name: 'bytes_total', type: 'bigint', nullable: true }) bytesTotal!: string | null;
  @Column({ name: 'bytes_transferred', type: 'bigint', default: 0 }) bytesTransferred!: string;
  /** Whether the instance ran when the migration began: it runs again where it ends up. */
  @Column({ name: 'was_running', type: 'boolean', nullable: true }) wasRunning!: boolean | null;
  @Column({ type: 'jsonb', nullable: true }) backup!: MigrationBackup | null;
  @Column({ name: 'cancel_requested', type: 'boolean', default: false }) cancelRequested!: boolean;
  @Column({ type: 'jsonb', nullable: true }) error!: MigrationError | null;
  @Column({ type: 'jsonb' }) actor!: OperationActor;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
