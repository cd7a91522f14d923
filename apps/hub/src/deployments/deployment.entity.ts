import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { DeploymentError } from './deployment-status';

export const DEPLOYMENT_STATUSES = ['pending', 'installing', 'starting', 'running', 'installed', 'failed'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];
/** Where a deployment stops changing: the instance runs, is installed (start: false), or it failed. */
export const FINAL_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['running', 'installed', 'failed'];
export type DeploymentSource = 'template' | 'workload' | 'egg';

/** One click-to-deploy: what it came from, the workload and instance it made, and how far it got. */
@Entity('deployments')
@Index(['orgId', 'createdAt'])
export class DeploymentEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) source!: DeploymentSource;
  @Column({ type: 'text', nullable: true }) template!: string | null;
  @Column({ name: 'workload_id', type: 'uuid', nullable: true }) workloadId!: string | null;
  /** The deployment created the workload (from a template or an egg) rather than using an existing one. */
  @Column({ name: 'workload_created', type: 'boolean', default: false }) workloadCreated!: boolean;
  @Column({ name: 'instance_id', type: 'uuid', nullable: true }) instanceId!: string | null;
  @Column({ name: 'node_id', type: 'uuid', nullable: true }) nodeId!: string | null;
  @Column({ type: 'boolean' }) start!: boolean;
  @Column({ type: 'text' }) status!: DeploymentStatus;
  @Column({ name: 'create_operation_id', type: 'uuid', nullable: true }) createOperationId!: string | null;
  @Column({ name: 'start_operation_id', type: 'uuid', nullable: true }) startOperationId!: string | null;
  @Column({ type: 'jsonb', nullable: true }) error!: DeploymentError | null;
  @Column({ type: 'jsonb', default: [] }) warnings!: string[];
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
