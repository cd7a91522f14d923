import { MigrationInterface, QueryRunner } from 'typeorm';

/** Workloads and instances may use the Parallels Desktop driver. */
export class ParallelsDriver1796410000000 implements MigrationInterface {
  name = 'ParallelsDriver1796410000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['workloads', 'instances']) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_driver_check`);
      await q.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_driver_check CHECK (driver IN ('process', 'docker', 'zone', 'parallels'))`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['workloads', 'instances']) {
      await q.query(`ALTER TABLE ${table} DROP CONSTRAINT ${table}_driver_check`);
      await q.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_driver_check CHECK (driver IN ('process', 'docker', 'zone'))`,
      );
    }
  }
}
