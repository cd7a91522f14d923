import { MigrationInterface, QueryRunner } from 'typeorm';

export class DeploymentsAndInstanceMetrics1796260000000 implements MigrationInterface {
  name = 'DeploymentsAndInstanceMetrics1796260000000';

  async up(q: QueryRunner): Promise<void> {
    // Same shape as node_metrics: raw rows per sample, 5-minute rollups, each with its retention.
    await q.query(`
      CREATE TABLE instance_metrics (
        instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
        ts timestamptz NOT NULL,
        cpu_percent real NOT NULL,
        memory_bytes bigint NOT NULL,
        memory_limit_bytes bigint,
        disk_bytes bigint NOT NULL,
        net_rx_bps real NOT NULL,
        net_tx_bps real NOT NULL,
        PRIMARY KEY (instance_id, ts)
      )`);
    await q.query(`CREATE INDEX instance_metrics_ts ON instance_metrics (ts)`);
    await q.query(`
      CREATE TABLE instance_metrics_5m (
        instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
        bucket timestamptz NOT NULL,
        samples int NOT NULL,
        cpu_percent real NOT NULL,
        cpu_percent_max real NOT NULL,
        memory_bytes bigint NOT NULL,
        memory_bytes_max bigint NOT NULL,
        memory_limit_bytes bigint,
        disk_bytes bigint NOT NULL,
        net_rx_bps real NOT NULL,
        net_tx_bps real NOT NULL,
        PRIMARY KEY (instance_id, bucket)
      )`);
    await q.query(`CREATE INDEX instance_metrics_5m_bucket ON instance_metrics_5m (bucket)`);
    await q.query(`
      CREATE TABLE deployments (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL,
        source text NOT NULL CHECK (source IN ('template', 'workload', 'egg')),
        template text,
        workload_id uuid REFERENCES workloads(id) ON DELETE SET NULL,
        workload_created boolean NOT NULL DEFAULT false,
        instance_id uuid REFERENCES instances(id) ON DELETE SET NULL,
        node_id uuid,
        start boolean NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'installing', 'starting', 'running', 'installed', 'failed')),
        create_operation_id uuid,
        start_operation_id uuid,
        error jsonb,
        warnings jsonb NOT NULL DEFAULT '[]',
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX deployments_org_created ON deployments (org_id, created_at DESC)`);
    await q.query(`CREATE INDEX deployments_instance ON deployments (instance_id) WHERE instance_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['deployments', 'instance_metrics_5m', 'instance_metrics'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
