import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A short-lived, limited-use secret that lets `hostplane-agent register` create a node. */
@Entity('node_registration_tokens')
export class RegistrationTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'token_hash', type: 'text', unique: true }) tokenHash!: string;
  @Column({ type: 'text' }) hint!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'jsonb', default: {} }) labels!: Record<string, string>;
  @Column({ name: 'max_uses', type: 'int' }) maxUses!: number;
  @Column({ type: 'int', default: 0 }) uses!: number;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** Hashes of agent tokens that no longer work, kept so a refusal can say why. */
@Entity('revoked_agent_tokens')
export class RevokedAgentTokenEntity {
  @Column({ name: 'token_hash', type: 'text', primary: true }) tokenHash!: string;
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  @Column({ type: 'text' }) reason!: 'rotated' | 'node_deleted';
  @CreateDateColumn({ name: 'revoked_at', type: 'timestamptz' }) revokedAt!: Date;
}
