import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { INSTANCE_STATES, type InstanceSpec, type InstanceState } from '@hostplane/protocol';
import type { WorkloadResources } from '../workloads/workload.schemas';

/** `pending` until the node created it; `unknown` while its node is unreachable; `deleting` once a delete is queued. */
export type InstanceRowState = InstanceState | 'pending' | 'unknown' | 'deleting';
/** Every state the hub shows: the host's states plus the hub-side ones (never sent to or by an agent). */
export const INSTANCE_ROW_STATES = [
  'pending',
  ...INSTANCE_STATES,
  'unknown',
  'deleting',
] as const satisfies readonly InstanceRowState[];
export type DesiredState = 'running' | 'stopped';

@Entity('instances')
@Index(['orgId', 'name'], { unique: true })
export class InstanceEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ name: 'workload_id', type: 'uuid', nullable: true }) workloadId!: string | null;
  @Column({ name: 'workload_revision', type: 'int' }) workloadRevision!: number;
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  @Column({ type: 'text' }) driver!: 'process' | 'docker' | 'zone' | 'parallels';
  @Column({ type: 'jsonb' }) variables!: Record<string, string>;
  @Column({ type: 'jsonb' }) resources!: WorkloadResources;
  @Column({ type: 'jsonb' }) spec!: InstanceSpec;
  @Column({ name: 'desired_state', type: 'text' }) desiredState!: DesiredState;
  @Column({ type: 'text' }) state!: InstanceRowState;
  @Column({ name: 'state_reason', type: 'text', nullable: true }) stateReason!: string | null;
  @Column({ name: 'exit_code', type: 'int', nullable: true }) exitCode!: number | null;
  @Column({ name: 'state_changed_at', type: 'timestamptz' }) stateChangedAt!: Date;
  /** The host's time of the state we hold: an older report (a late job result) never overwrites a newer one. */
  @Column({ name: 'state_observed_at', type: 'timestamptz', nullable: true }) stateObservedAt!: Date | null;
  /** The open migration moving this instance; while set, the migration alone acts on it. */
  @Column({ name: 'migration_id', type: 'uuid', nullable: true }) migrationId!: string | null;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
