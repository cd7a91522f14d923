import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ephemeral clones for CI: one row per clone, kept in PostgreSQL so that its TTL is enforced by
 * whichever hub replica runs the reaper, across restarts.
 */
export class EphemeralMachines1796460000000 implements MigrationInterface {
  name = 'EphemeralMachines1796460000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ephemeral_machines (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
        template text NOT NULL,
        name text NOT NULL,
        vm_id text,
        ip text,
        status text NOT NULL,
        ttl_seconds int NOT NULL,
        expires_at timestamptz NOT NULL,
        create_operation_id uuid NOT NULL,
        delete_operation_id uuid,
        delete_attempts int NOT NULL DEFAULT 0,
        delete_reason text,
        error jsonb,
        created_by jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX ephemeral_machines_org ON ephemeral_machines (org_id, created_at)`);
    await q.query(
      `CREATE INDEX ephemeral_machines_open ON ephemeral_machines (status, expires_at) WHERE status <> 'deleted'`,
    );
    await q.query(`CREATE UNIQUE INDEX ephemeral_machines_node_name ON ephemeral_machines (node_id, name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ephemeral_machines`);
  }
}
