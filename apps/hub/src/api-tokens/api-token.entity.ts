import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('api_tokens')
export class ApiToken {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'user_id', type: 'uuid' }) userId!: string;
  /** The one organization the token acts in. */
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  /** SHA-256 of the whole token, hex. */
  @Column({ name: 'token_hash', type: 'text' }) tokenHash!: string;
  /** `hp_pat_abcd…`: enough to recognise it in a list, useless to an attacker. */
  @Column({ name: 'token_hint', type: 'text' }) tokenHint!: string;
  /** Permission keys the token is limited to; null = everything its owner may do in the org. */
  @Column({ type: 'text', array: true, nullable: true }) scopes!: string[] | null;
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true }) lastUsedAt!: Date | null;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
