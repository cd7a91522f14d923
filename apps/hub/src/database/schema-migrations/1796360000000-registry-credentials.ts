import { MigrationInterface, QueryRunner } from 'typeorm';

export class RegistryCredentials1796360000000 implements MigrationInterface {
  name = 'RegistryCredentials1796360000000';

  async up(q: QueryRunner): Promise<void> {
    // The password is sealed by the hub (secret-box, bound to the row id); the database never sees it in clear.
    await q.query(`
      CREATE TABLE registry_credentials (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL,
        server text NOT NULL,
        username text NOT NULL,
        password_sealed text NOT NULL,
        created_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT registry_credentials_org_name UNIQUE (org_id, name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE registry_credentials`);
  }
}
