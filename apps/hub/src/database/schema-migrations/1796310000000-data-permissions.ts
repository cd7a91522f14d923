import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Destructive data operations got keys of their own (files.write, files.delete, backups.restore,
 * backups.delete). What someone was explicitly given keeps working: a grant or an API token
 * scope of `instances.files` now also carries files.write and files.delete, one of
 * `instances.manage` also carries backups.restore and backups.delete. Roles change by code.
 */
const IMPLIED: [string, string[]][] = [
  ['instances.files', ['files.write', 'files.delete']],
  ['instances.manage', ['backups.restore', 'backups.delete']],
];

export class DataPermissions1796310000000 implements MigrationInterface {
  name = 'DataPermissions1796310000000';

  async up(q: QueryRunner): Promise<void> {
    for (const [from, keys] of IMPLIED) {
      await q.query(
        `INSERT INTO member_permissions (org_id, user_id, permission_key, granted_by, created_at)
         SELECT p.org_id, p.user_id, k.key, p.granted_by, p.created_at
           FROM member_permissions p CROSS JOIN unnest($2::text[]) AS k(key)
          WHERE p.permission_key = $1
         ON CONFLICT DO NOTHING`,
        [from, keys],
      );
      await q.query(
        `UPDATE api_tokens SET scopes = ARRAY(SELECT DISTINCT s FROM unnest(scopes || $2::text[]) AS s ORDER BY s)
          WHERE $1 = ANY(scopes)`,
        [from, keys],
      );
    }
  }

  async down(): Promise<void> {
    // The added grants and scopes are indistinguishable from ones given later: nothing to undo.
  }
}
