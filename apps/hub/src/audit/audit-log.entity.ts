import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AuditActorType = 'user' | 'api_token' | 'anonymous' | 'system';
export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One audited event. No foreign keys: a row outlives the user, token or organization it names. */
@Entity('audit_logs')
export class AuditLog {
  /** bigint identity; TypeORM hands bigints over as strings. */
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ name: 'occurred_at', type: 'timestamptz', default: () => 'now()' }) occurredAt!: Date;
  @Column({ name: 'actor_type', type: 'text' }) actorType!: AuditActorType;
  @Column({ name: 'actor_id', type: 'uuid', nullable: true }) actorId!: string | null;
  @Column({ name: 'actor_email', type: 'text', nullable: true }) actorEmail!: string | null;
  @Column({ name: 'api_token_id', type: 'uuid', nullable: true }) apiTokenId!: string | null;
  @Column({ name: 'org_id', type: 'uuid', nullable: true }) orgId!: string | null;
  @Column({ type: 'text' }) action!: string;
  @Column({ name: 'target_type', type: 'text', nullable: true }) targetType!: string | null;
  @Column({ name: 'target_id', type: 'text', nullable: true }) targetId!: string | null;
  @Column({ type: 'text', nullable: true }) ip!: string | null;
  @Column({ name: 'user_agent', type: 'text', nullable: true }) userAgent!: string | null;
  @Column({ type: 'text' }) outcome!: AuditOutcome;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode!: number | null;
  @Column({ name: 'request_id', type: 'text', nullable: true }) requestId!: string | null;
  @Column({ type: 'jsonb', nullable: true }) details!: Record<string, unknown> | null;
}
