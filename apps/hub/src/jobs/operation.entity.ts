import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'expired'] as const;
export type OperationStatus = 'queued' | 'running' | 'cancelling' | (typeof FINAL_STATUSES)[number];

export interface OperationActor {
  type: 'user' | 'api_token' | 'system';
  id: string | null;
  name?: string;
}

/** One unit of host work. Its id is the BullMQ job id and the agent's idempotency key. */
@Entity('operations')
@Index(['orgId', 'createdAt'])
@Index(['nodeId', 'status'])
export class OperationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'node_id', type: 'uuid', nullable: true }) nodeId!: string | null;
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text' }) status!: OperationStatus;
  @Column({ type: 'jsonb' }) payload!: unknown;
  @Column({ type: 'text', nullable: true }) resource!: string | null;
  /** Acknowledgement order; operations on one (node, resource) are delivered in this order. */
  @Column({
    type: 'bigint',
    insert: false,
    update: false,
    transformer: { to: (v: unknown) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  seq!: number;
  @Column({ type: 'jsonb', default: [] }) resources!: string[];
  @Column({ name: 'progress_percent', type: 'real', default: 0 }) progressPercent!: number;
  @Column({ name: 'progress_message', type: 'text', nullable: true }) progressMessage!: string | null;
  @Column({ type: 'jsonb', nullable: true }) result!: unknown;
  @Column({ type: 'jsonb', nullable: true }) error!: { code: string; message: string } | null;
  @Column({ type: 'jsonb' }) actor!: OperationActor;
  @Column({ name: 'may_cancel', type: 'boolean', default: false }) mayCancel!: boolean;
  @Column({ type: 'int', default: 0 }) deliveries!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
  @Column({ name: 'deadline_at', type: 'timestamptz', nullable: true }) deadlineAt!: Date | null;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
