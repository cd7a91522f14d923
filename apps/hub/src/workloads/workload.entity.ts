import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { WorkloadSpec } from './workload.schemas';

/** A workload definition of an organization: the spec as validated, and a revision bumped on every change. */
@Entity('workloads')
@Index(['orgId', 'name'], { unique: true })
export class WorkloadEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) driver!: WorkloadSpec['driver'];
  @Column({ type: 'jsonb' }) spec!: WorkloadSpec;
  @Column({ type: 'int', default: 1 }) revision!: number;
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
