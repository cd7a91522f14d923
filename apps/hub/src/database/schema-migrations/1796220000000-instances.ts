import { MigrationInterface, QueryRunner } from 'typeorm';

export class Instances1796220000000 implements MigrationInterface {
  name = 'Instances1796220000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE instances (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL,
        workload_id uuid REFERENCES workloads(id) ON DELETE SET NULL,
        workload_revision int NOT NULL,
        node_id uuid NOT NULL REFERENCES nodes(id) ON DELETE RESTRICT,
        driver text NOT NULL CHECK (driver IN ('process', 'docker')),
        variables jsonb NOT NULL DEFAULT '{}',
        resources jsonb NOT NULL,
        spec jsonb NOT NULL,
        desired_state text NOT NULL CHECK (desired_state IN ('running', 'stopped')),
        state text NOT NULL CHECK (state IN ('pending', 'installing', 'stopped', 'starting', 'running', 'stopping', 'crashed', 'failed', 'unknown', 'deleting')),
        state_reason text,
        exit_code int,
        state_changed_at timestamptz NOT NULL DEFAULT now(),
        state_observed_at timestamptz,
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, name)
      )`);
    await q.query(`CREATE INDEX instances_node ON instances (node_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS instances`);
  }
}
