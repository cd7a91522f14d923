import { MigrationInterface, QueryRunner } from 'typeorm';

export class Backups1796240000000 implements MigrationInterface {
  name = 'Backups1796240000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE backup_storage_configs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        endpoint text,
        region text NOT NULL,
        bucket text NOT NULL,
        prefix text NOT NULL DEFAULT '',
        access_key_id text NOT NULL,
        secret_access_key_sealed text NOT NULL,
        force_path_style boolean NOT NULL DEFAULT false,
        active boolean NOT NULL DEFAULT false,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (org_id, name)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX backup_storage_configs_one_active ON backup_storage_configs (org_id) WHERE active`,
    );
    // instance_id has no foreign key on purpose: when an instance goes, its backup rows stay
    // until a sweeper has removed their archives (S3 objects would otherwise be left behind).
    await q.query(`
      CREATE TABLE backups (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        instance_id uuid NOT NULL,
        node_id uuid NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        ignore jsonb NOT NULL DEFAULT '[]',
        locked boolean NOT NULL DEFAULT false,
        status text NOT NULL CHECK (status IN ('creating', 'uploading', 'ready', 'failed', 'deleting')),
        storage text NOT NULL CHECK (storage IN ('agent', 's3')),
        storage_config_id uuid REFERENCES backup_storage_configs(id) ON DELETE RESTRICT,
        object_key text,
        size_bytes bigint,
        sha256 text,
        file_count int,
        operation_id uuid,
        job_id uuid,
        error jsonb,
        lease_until timestamptz,
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (storage = 'agent' OR storage_config_id IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX backups_instance ON backups (instance_id, created_at)`);
    await q.query(
      `CREATE INDEX backups_open ON backups (status) WHERE status IN ('creating', 'uploading', 'deleting')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS backups`);
    await q.query(`DROP TABLE IF EXISTS backup_storage_configs`);
  }
}
