import { MigrationInterface, QueryRunner } from 'typeorm';

export class MigrationsAndDrain1796250000000 implements MigrationInterface {
  name = 'MigrationsAndDrain1796250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE migrations (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
        source_node_id uuid NOT NULL,
        target_node_id uuid NOT NULL,
        batch_id uuid NOT NULL,
        max_parallel int NOT NULL DEFAULT 1 CHECK (max_parallel >= 1),
        drain_id uuid,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        step text NOT NULL,
        progress_percent real NOT NULL DEFAULT 0,
        progress_message text,
        bytes_total bigint,
        bytes_transferred bigint NOT NULL DEFAULT 0,
        was_running boolean,
        backup jsonb,
        cancel_requested boolean NOT NULL DEFAULT false,
        error jsonb,
        actor jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX migrations_org_created ON migrations (org_id, created_at)`);
    await q.query(`CREATE INDEX migrations_open_batch ON migrations (batch_id) WHERE status IN ('queued', 'running')`);
    // One open migration per instance: a second migrate of the same instance is a 409, even from two replicas at once.
    await q.query(
      `CREATE UNIQUE INDEX migrations_open_instance ON migrations (instance_id) WHERE status IN ('queued', 'running')`,
    );
    await q.query(`ALTER TABLE instances ADD COLUMN migration_id uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instances DROP COLUMN IF EXISTS migration_id`);
    await q.query(`DROP TABLE IF EXISTS migrations`);
  }
}
