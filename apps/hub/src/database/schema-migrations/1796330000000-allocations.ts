import { MigrationInterface, QueryRunner } from 'typeorm';

export class Allocations1796330000000 implements MigrationInterface {
  name = 'Allocations1796330000000';

  async up(q: QueryRunner): Promise<void> {
    // One row per ip:port of a node's pool; an instance holds a row by setting instance_id with a
    // conditional UPDATE (… WHERE instance_id IS NULL), so two creates can never hold one port.
    // The FK is deferred: the rows are claimed before the instance row is inserted, in one transaction.
    await q.query(`
      CREATE TABLE allocations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        ip text NOT NULL,
        port int NOT NULL CHECK (port BETWEEN 1 AND 65535),
        alias text,
        instance_id uuid REFERENCES instances(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
        is_primary boolean NOT NULL DEFAULT false,
        port_name text,
        assigned_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT allocations_node_ip_port UNIQUE (node_id, ip, port)
      )`);
    await q.query(`CREATE INDEX allocations_instance ON allocations (instance_id) WHERE instance_id IS NOT NULL`);
    await q.query(`CREATE INDEX allocations_free ON allocations (node_id, port) WHERE instance_id IS NULL`);
    // One primary per instance per node (a migrating instance holds ports on its source and target).
    await q.query(`CREATE UNIQUE INDEX allocations_one_primary ON allocations (instance_id, node_id) WHERE is_primary`);
    // Nodes registered before pools existed get the documented default pool (agents.defaultAllocations).
    await q.query(`
      INSERT INTO allocations (org_id, node_id, ip, port)
      SELECT n.org_id, n.id, '0.0.0.0', p FROM nodes n CROSS JOIN generate_series(30000, 30099) p`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE allocations`);
  }
}
