import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { DriverInfo, Inventory } from '@hostplane/protocol';

export type NodeStatus = 'pending' | 'online' | 'offline';
export type DrainStatus = 'draining' | 'complete' | 'cancelled';

export interface DrainIssue {
  instance_id: string;
  reason: string;
  since: string;
}

export interface DrainState {
  /** Names the drain's migrations (their `drain_id`). */
  id: string;
  status: DrainStatus;
  started_at: string;
  updated_at: string;
  deadline_at: string | null;
  force: boolean;
  /** Migrations of this drain running at once. */
  max_parallel: number;
  actor: { type: string; id: string } | null;
  /** Instances still on the node. */
  remaining: number;
  /** Instances moved off by this drain. */
  migrated: number;
  /** Instances no node can take (the planner's explanation); retried on every pass until the deadline. */
  unplaceable: DrainIssue[];
  /** Instances whose migration failed or was cancelled: left on the node, stopped at the deadline. */
  failed: DrainIssue[];
  /** Instances the drain stopped in place (force, or still there at the deadline). */
  stopped: string[];
  /** Why a finished drain finished: nothing left (`empty`), `deadline` or `force`. */
  completed_reason: 'empty' | 'deadline' | 'force' | null;
}

export interface CapacityOverrides {
  cpu_cores?: number;
  memory_bytes?: number;
  disk_bytes?: number;
}

@Entity('nodes')
@Index(['orgId', 'name'], { unique: true })
export class NodeEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', default: 'pending' }) status!: NodeStatus;
  @Column({ type: 'boolean', default: true }) schedulable!: boolean;
  @Column({ type: 'jsonb', nullable: true }) drain!: DrainState | null;
  @Column({ type: 'jsonb', default: {} }) labels!: Record<string, string>;
  @Column({ type: 'jsonb', default: {} }) capacity!: CapacityOverrides;
  @Column({ name: 'job_concurrency', type: 'int', default: 4 }) jobConcurrency!: number;
  @Column({ name: 'agent_token_hash', type: 'text', unique: true }) agentTokenHash!: string;
  @Column({ name: 'agent_token_hint', type: 'text' }) agentTokenHint!: string;
  @Column({ name: 'connection_epoch', type: 'bigint', default: 0 }) connectionEpoch!: string;
  @Column({ type: 'text', nullable: true }) hostname!: string | null;
  @Column({ type: 'text', nullable: true }) os!: string | null;
  @Column({ type: 'text', nullable: true }) arch!: string | null;
  @Column({ name: 'agent_version', type: 'text', nullable: true }) agentVersion!: string | null;
  @Column({ name: 'protocol_version', type: 'int', nullable: true }) protocolVersion!: number | null;
  @Column({ type: 'jsonb', default: [] }) drivers!: DriverInfo[];
  @Column({ type: 'jsonb', default: [] }) capabilities!: string[];
  @Column({ type: 'jsonb', nullable: true }) inventory!: Inventory | null;
  @Column({ name: 'inventory_updated_at', type: 'timestamptz', nullable: true }) inventoryUpdatedAt!: Date | null;
  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true }) lastSeenAt!: Date | null;
  @Column({ name: 'connected_at', type: 'timestamptz', nullable: true }) connectedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
