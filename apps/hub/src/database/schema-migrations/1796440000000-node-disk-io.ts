import { MigrationInterface, QueryRunner } from 'typeorm';

/** Node metrics carry disk I/O rates; rows written before have none (0). */
export class NodeDiskIo1796440000000 implements MigrationInterface {
  name = 'NodeDiskIo1796440000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['node_metrics', 'node_metrics_5m'])
      await q.query(
        `ALTER TABLE ${table} ADD COLUMN disk_read_bps real NOT NULL DEFAULT 0, ADD COLUMN disk_write_bps real NOT NULL DEFAULT 0`,
      );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['node_metrics', 'node_metrics_5m'])
      await q.query(`ALTER TABLE ${table} DROP COLUMN disk_read_bps, DROP COLUMN disk_write_bps`);
  }
}
