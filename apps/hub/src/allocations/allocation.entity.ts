import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One ip:port of a node's pool; held by at most one instance (`instance_id`). */
@Entity('allocations')
export class AllocationEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  @Column({ type: 'text' }) ip!: string;
  @Column({ type: 'int' }) port!: number;
  @Column({ type: 'text', nullable: true }) alias!: string | null;
  @Column({ name: 'instance_id', type: 'uuid', nullable: true }) instanceId!: string | null;
  @Column({ name: 'is_primary', type: 'boolean', default: false }) isPrimary!: boolean;
  /** The instance port it serves (`default`, a workload port's name, or a port variable's). */
  @Column({ name: 'port_name', type: 'text', nullable: true }) portName!: string | null;
  @Column({ name: 'assigned_at', type: 'timestamptz', nullable: true }) assignedAt!: Date | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
