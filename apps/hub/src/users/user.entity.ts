import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { UserStatus } from '../access/access-state';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** Stored lower-cased; unique. */
  @Column({ type: 'text' }) email!: string;
  @Column({ type: 'text', default: '' }) name!: string;
  /** argon2id; null for accounts that only sign in with GitHub. */
  @Column({ name: 'password_hash', type: 'text', nullable: true }) passwordHash!: string | null;
  @Column({ name: 'is_platform_admin', type: 'boolean', default: false }) isPlatformAdmin!: boolean;
  @Column({ type: 'text', default: 'active' }) status!: UserStatus;
  @Column({ name: 'suspended_at', type: 'timestamptz', nullable: true }) suspendedAt!: Date | null;
  @Column({ name: 'github_id', type: 'bigint', nullable: true }) githubId!: string | null;
  @Column({ name: 'github_login', type: 'text', nullable: true }) githubLogin!: string | null;
  @Column({ name: 'mfa_enabled', type: 'boolean', default: false }) mfaEnabled!: boolean;
  /** TOTP seed sealed with the hub's encryption key (see crypto/secret-box.ts). */
  @Column({ name: 'mfa_secret', type: 'text', nullable: true }) mfaSecret!: string | null;
  @Column({ name: 'mfa_pending_secret', type: 'text', nullable: true }) mfaPendingSecret!: string | null;
  /** Last accepted TOTP time step: a code of that step or earlier is a replay. */
  @Column({ name: 'mfa_last_step', type: 'integer', nullable: true }) mfaLastStep!: number | null;
  @Column({ name: 'password_changed_at', type: 'timestamptz', nullable: true }) passwordChangedAt!: Date | null;
  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true }) lastLoginAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
