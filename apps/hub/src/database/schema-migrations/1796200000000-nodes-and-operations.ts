import { MigrationInterface, QueryRunner } from 'typeorm';

export class NodesAndOperations1796200000000 implements MigrationInterface {
  name = 'NodesAndOperations1796200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE nodes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'online', 'offline')),
        schedulable boolean NOT NULL DEFAULT true,
        drain jsonb,
        labels jsonb NOT NULL DEFAULT '{}',
        capacity jsonb NOT NULL DEFAULT '{}',
        job_concurrency int NOT NULL DEFAULT 4 CHECK (job_concurrency BETWEEN 1 AND 256),
        agent_token_hash text NOT NULL UNIQUE,
        agent_token_hint text NOT NULL,
        connection_epoch bigint NOT NULL DEFAULT 0,
        hostname text,
        os text,
        arch text,
        agent_version text,
        protocol_version int,
        drivers jsonb NOT NULL DEFAULT '[]',
        capabilities jsonb NOT NULL DEFAULT '[]',
        inventory jsonb,
        inventory_updated_at timestamptz,
        last_seen_at timestamptz,
        connected_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, name)
      )`);
    await q.query(`CREATE INDEX nodes_online_seen ON nodes (last_seen_at) WHERE status = 'online'`);
    await q.query(`
      CREATE TABLE node_registration_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        hint text NOT NULL,
        description text,
        labels jsonb NOT NULL DEFAULT '{}',
        max_uses int NOT NULL CHECK (max_uses >= 1),
        uses int NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL,
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE revoked_agent_tokens (
        token_hash text PRIMARY KEY,
        node_id uuid NOT NULL,
        reason text NOT NULL CHECK (reason IN ('rotated', 'node_deleted')),
        revoked_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE operations (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        node_id uuid REFERENCES nodes(id) ON DELETE SET NULL,
        kind text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled', 'expired')),
        payload jsonb NOT NULL,
        resource text,
        resources jsonb NOT NULL DEFAULT '[]',
        progress_percent real NOT NULL DEFAULT 0,
        progress_message text,
        result jsonb,
        error jsonb,
        actor jsonb NOT NULL,
        may_cancel boolean NOT NULL DEFAULT false,
        deliveries int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        deadline_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX operations_org_created ON operations (org_id, created_at DESC)`);
    await q.query(`CREATE INDEX operations_node_status ON operations (node_id, status)`);
    await q.query(
      `CREATE INDEX operations_open ON operations (deadline_at) WHERE status IN ('queued', 'running', 'cancelling')`,
    );
    await q.query(`CREATE INDEX operations_finished ON operations (finished_at) WHERE finished_at IS NOT NULL`);
    // Time series: one row per heartbeat, rolled up into 5-minute buckets and pruned by retention.
    await q.query(`
      CREATE TABLE node_metrics (
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        ts timestamptz NOT NULL,
        cpu_percent real NOT NULL,
        memory_used_bytes bigint NOT NULL,
        memory_total_bytes bigint NOT NULL,
        disk_used_bytes bigint NOT NULL,
        disk_total_bytes bigint NOT NULL,
        net_rx_bps real NOT NULL,
        net_tx_bps real NOT NULL,
        load1 real NOT NULL,
        load5 real NOT NULL,
        load15 real NOT NULL,
        PRIMARY KEY (node_id, ts)
      )`);
    await q.query(`CREATE INDEX node_metrics_ts ON node_metrics (ts)`);
    await q.query(`
      CREATE TABLE node_metrics_5m (
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        bucket timestamptz NOT NULL,
        samples int NOT NULL,
        cpu_percent real NOT NULL,
        cpu_percent_max real NOT NULL,
        memory_used_bytes bigint NOT NULL,
        memory_total_bytes bigint NOT NULL,
        disk_used_bytes bigint NOT NULL,
        disk_total_bytes bigint NOT NULL,
        net_rx_bps real NOT NULL,
        net_tx_bps real NOT NULL,
        load1 real NOT NULL,
        load5 real NOT NULL,
        load15 real NOT NULL,
        PRIMARY KEY (node_id, bucket)
      )`);
    await q.query(`CREATE INDEX node_metrics_5m_bucket ON node_metrics_5m (bucket)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'node_metrics_5m',
      'node_metrics',
      'operations',
      'revoked_agent_tokens',
      'node_registration_tokens',
      'nodes',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
