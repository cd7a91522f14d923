import { MigrationInterface, QueryRunner } from 'typeorm';

export class FileUploads1796230000000 implements MigrationInterface {
  name = 'FileUploads1796230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE file_uploads (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        instance_id uuid NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
        node_id uuid NOT NULL,
        path text NOT NULL,
        length bigint NOT NULL CHECK (length >= 0),
        "offset" bigint NOT NULL DEFAULT 0 CHECK ("offset" >= 0 AND "offset" <= length),
        created_by uuid,
        locked_until timestamptz,
        expires_at timestamptz NOT NULL,
        completed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX file_uploads_instance ON file_uploads (instance_id)`);
    await q.query(`CREATE INDEX file_uploads_expiry ON file_uploads (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS file_uploads`);
  }
}
