import { MigrationInterface, QueryRunner } from 'typeorm';

export class Workloads1796210000000 implements MigrationInterface {
  name = 'Workloads1796210000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE workloads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        driver text NOT NULL CHECK (driver IN ('process', 'docker')),
        spec jsonb NOT NULL,
        revision int NOT NULL DEFAULT 1 CHECK (revision >= 1),
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workloads`);
  }
}
