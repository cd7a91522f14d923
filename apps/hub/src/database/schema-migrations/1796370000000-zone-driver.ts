import { MigrationInterface, QueryRunner } from 'typeorm';

/** Workloads and instances may use the illumos zone driver. */
export class ZoneDriver1796370000000 implements MigrationInterface {
  name = 'ZoneDriver1796370000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['workloads', 'instances']) {
      const { rows } = {
        rows: (await q.query(
          `SELECT conname FROM pg_constraint WHERE conrelid = '${table}'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%driver%'`,
        )) as { conname: string }[],
      };
      for (const r of rows) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT "${r.conname}"`);
      await q.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_driver_check CHECK (driver IN ('process', 'docker', 'zone'))`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['workloads', 'instances']) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_driver_check`);
      await q.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_driver_check CHECK (driver IN ('process', 'docker'))`,
      );
    }
  }
}
