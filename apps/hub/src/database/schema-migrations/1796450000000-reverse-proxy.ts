import { MigrationInterface, QueryRunner } from 'typeorm';

export class ReverseProxy1796450000000 implements MigrationInterface {
  name = 'ReverseProxy1796450000000';

  async up(q: QueryRunner): Promise<void> {
    // Routes live in their host's row (ordered lists, changed under the row's lock). The TLS
    // certificate and key are sealed by the hub (secret-box, bound to the row id).
    await q.query(`
      CREATE TABLE reverse_proxy_hosts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        name text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        listen_host text NOT NULL,
        listen_port integer NOT NULL CHECK (listen_port BETWEEN 1 AND 65535),
        tls_sealed text,
        tls_fingerprint text,
        tls_not_after timestamptz,
        cors jsonb,
        timeout_ms integer NOT NULL DEFAULT 30000,
        generation integer NOT NULL DEFAULT 0,
        routes jsonb NOT NULL DEFAULT '[]',
        tcp_routes jsonb NOT NULL DEFAULT '[]',
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT reverse_proxy_hosts_node_name UNIQUE (node_id, name)
      )`);
    await q.query(`CREATE INDEX reverse_proxy_hosts_org_node ON reverse_proxy_hosts (org_id, node_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reverse_proxy_hosts`);
  }
}
