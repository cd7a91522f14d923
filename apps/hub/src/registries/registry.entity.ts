import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** Credentials of a container registry an organization's docker images come from. */
@Entity('registry_credentials')
@Index(['orgId', 'name'], { unique: true })
export class RegistryCredentialEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  /** The registry's host[:port], as image references name it (`ghcr.io`, `127.0.0.1:5000`). */
  @Column({ type: 'text' }) server!: string;
  @Column({ type: 'text' }) username!: string;
  /** secret-box sealed, bound to the row id; never returned. */
  @Column({ name: 'password_sealed', type: 'text' }) passwordSealed!: string;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
