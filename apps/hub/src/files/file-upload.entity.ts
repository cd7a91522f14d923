import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** bigint columns come back from pg as strings; sizes here stay far below 2^53. */
const bigintAsNumber = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/**
 * A resumable (TUS) upload into an instance root. The bytes are staged on the node under the
 * upload's id; `offset` is what the agent reported as durably staged, so a resume starts there.
 */
@Entity('file_uploads')
export class FileUploadEntity {
  /** Also the agent's staging id (a UUID fits the protocol's transfer id pattern). */
  @PrimaryColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'instance_id', type: 'uuid' }) instanceId!: string;
  /** Kept so clean-up can reach the node's staging area even while nothing else is loaded. */
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  /** Target path relative to the instance root. */
  @Column({ type: 'text' }) path!: string;
  @Column({ type: 'bigint', transformer: bigintAsNumber }) length!: number;
  @Column({ type: 'bigint', transformer: bigintAsNumber }) offset!: number;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  /** Held by the request appending to the upload (PATCH), so two appends never interleave. */
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true }) lockedUntil!: Date | null;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt!: Date;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
