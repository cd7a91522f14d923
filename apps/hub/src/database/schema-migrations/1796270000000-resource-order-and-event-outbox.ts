import { MigrationInterface, QueryRunner } from 'typeorm';

export class ResourceOrderAndEventOutbox1796270000000 implements MigrationInterface {
  name = 'ResourceOrderAndEventOutbox1796270000000';

  async up(q: QueryRunner): Promise<void> {
    // Acknowledgement order: an operation's place among the operations on its (node, resource).
    await q.query(`CREATE SEQUENCE operations_seq`);
    await q.query(`ALTER TABLE operations ADD COLUMN seq bigint`);
    await q.query(
      `UPDATE operations SET seq = s.n FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM operations) s WHERE s.id = operations.id`,
    );
    await q.query(`SELECT setval('operations_seq', GREATEST((SELECT COALESCE(max(seq), 0) FROM operations), 1))`);
    await q.query(
      `ALTER TABLE operations ALTER COLUMN seq SET DEFAULT nextval('operations_seq'), ALTER COLUMN seq SET NOT NULL`,
    );
    await q.query(`ALTER SEQUENCE operations_seq OWNED BY operations.seq`);
    await q.query(
      `CREATE INDEX operations_open_by_resource ON operations (node_id, resource, seq) WHERE status IN ('queued', 'running', 'cancelling') AND resource IS NOT NULL`,
    );

    // Events written with the state change that causes them; a relay moves them to Redis.
    await q.query(`
      CREATE TABLE event_outbox (
        id bigserial PRIMARY KEY,
        org_id text NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        ts timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE event_outbox`);
    await q.query(`DROP INDEX operations_open_by_resource`);
    await q.query(`ALTER TABLE operations DROP COLUMN seq`);
  }
}
