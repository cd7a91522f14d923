import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { OperationActor } from '../jobs/operation.entity';

/**
 * `creating` (the clone operation runs) → `running` (it has its address) → `deleting` (TTL passed,
 * DELETE, or the create failed; the delete operation is retried until it succeeds) → `deleted`.
 */
export type EphemeralStatus = 'creating' | 'running' | 'deleting' | 'deleted';
export type EphemeralDeleteReason = 'expired' | 'deleted' | 'create_failed';

/** An ephemeral clone of a template VM on one macOS node, deleted when its TTL passes (docs/decisions/0038). */
@Entity('ephemeral_machines')
export class EphemeralMachineEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  @Column({ type: 'text' }) template!: string;
  @Column({ type: 'text' }) name!: string;
  /** The clone's UUID, once the create operation reported it. */
  @Column({ name: 'vm_id', type: 'text', nullable: true }) vmId!: string | null;
  @Column({ type: 'text', nullable: true }) ip!: string | null;
  @Column({ type: 'text' }) status!: EphemeralStatus;
  @Column({ name: 'ttl_seconds', type: 'int' }) ttlSeconds!: number;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
  @Column({ name: 'create_operation_id', type: 'uuid' }) createOperationId!: string;
  @Column({ name: 'delete_operation_id', type: 'uuid', nullable: true }) deleteOperationId!: string | null;
  @Column({ name: 'delete_attempts', type: 'int', default: 0 }) deleteAttempts!: number;
  @Column({ name: 'delete_reason', type: 'text', nullable: true }) deleteReason!: EphemeralDeleteReason | null;
  @Column({ type: 'jsonb', nullable: true }) error!: { code: string; message: string } | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: OperationActor;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
}

export function presentEphemeral(e: EphemeralMachineEntity) {
  return {
    id: e.id,
    name: e.name,
    node_id: e.nodeId,
    template: e.template,
    machine_id: e.vmId,
    ip: e.ip,
    status: e.status,
    ttl_seconds: e.ttlSeconds,
    expires_at: e.expiresAt.toISOString(),
    created_at: e.createdAt.toISOString(),
    deleted_at: e.deletedAt?.toISOString() ?? null,
    delete_reason: e.deleteReason,
    error: e.error,
    create_operation_id: e.createOperationId,
    delete_operation_id: e.deleteOperationId,
  };
}
