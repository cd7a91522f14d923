import { MigrationInterface, QueryRunner } from 'typeorm';

export class IdempotencyKeys1796280000000 implements MigrationInterface {
  name = 'IdempotencyKeys1796280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_keys (
        principal text NOT NULL,
        key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
        fingerprint text NOT NULL,
        claim_id uuid NOT NULL,
        state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
        method text NOT NULL,
        route text NOT NULL,
        response_status int,
        response_sealed text,
        locked_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (principal, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
  }
}
