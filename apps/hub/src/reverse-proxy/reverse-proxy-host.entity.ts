import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { CorsSettings, HttpRoute, TcpRoute } from '@hostplane/protocol';

/** A reverse-proxy host of a node (docs/api/machines.md, "Reverse proxy"), its routes in order. */
@Entity('reverse_proxy_hosts')
export class ReverseProxyHostEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'org_id', type: 'uuid' }) orgId!: string;
  @Column({ name: 'node_id', type: 'uuid' }) nodeId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'boolean' }) enabled!: boolean;
  @Column({ name: 'listen_host', type: 'text' }) listenHost!: string;
  @Column({ name: 'listen_port', type: 'integer' }) listenPort!: number;
  /** `{cert_pem, key_pem}` as JSON, secret-box sealed and bound to the row id; never returned. */
  @Column({ name: 'tls_sealed', type: 'text', nullable: true }) tlsSealed!: string | null;
  @Column({ name: 'tls_fingerprint', type: 'text', nullable: true }) tlsFingerprint!: string | null;
  @Column({ name: 'tls_not_after', type: 'timestamptz', nullable: true }) tlsNotAfter!: Date | null;
  @Column({ type: 'jsonb', nullable: true }) cors!: CorsSettings | null;
  @Column({ name: 'timeout_ms', type: 'integer' }) timeoutMs!: number;
  @Column({ type: 'integer' }) generation!: number;
  @Column({ type: 'jsonb' }) routes!: HttpRoute[];
  @Column({ name: 'tcp_routes', type: 'jsonb' }) tcpRoutes!: TcpRoute[];
  @Column({ name: 'created_by', type: 'uuid', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
