import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { IdempotencyKeyState } from './idempotency-key.entity';

const PRUNE_LOCK_KEY = 4_242_018;

export interface ClaimRequest {
  principal: string;
  key: string;
  fingerprint: string;
  claimId: string;
  method: string;
  route: string;
  leaseSeconds: number;
  ttlSeconds: number;
}

export interface KeyRow {
  fingerprint: string;
  state: IdempotencyKeyState;
  responseSealed: string | null;
}

/** The `idempotency_keys` table; every write is one statement, so concurrent requests need no lock of ours. */
@Injectable()
export class IdempotencyStore {
  constructor(private readonly db: DataSource) {}

  /**
   * Claims the key for this request: a new key, an expired one, or one whose owner stopped renewing
   * its lease (its replica died) for the same request. The primary key serializes concurrent claims:
   * exactly one gets its claim id back.
   */
  async claim(c: ClaimRequest): Promise<boolean> {
    // `set_config(…, true)` in the statement itself: its commit does not wait for the WAL flush,
    // in one round trip (decision 0018). Safe: the work's own commit, and the answer's
    // (complete()), flush the WAL past this record; a claim lost in a crash before either is a
    // request that left nothing behind, and the retry runs.
    const rows = (await this.db.query(
      `INSERT INTO idempotency_keys AS k (principal, key, fingerprint, claim_id, state, method, route, locked_until, created_at, expires_at)
       SELECT $1, $2, $3, $4, 'in_flight', $5, $6, now() + make_interval(secs => $7), now(), now() + make_interval(secs => $8)
         FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
       ON CONFLICT (principal, key) DO UPDATE SET
         fingerprint = EXCLUDED.fingerprint, claim_id = EXCLUDED.claim_id, state = 'in_flight', method = EXCLUDED.method, route = EXCLUDED.route,
         response_status = NULL, response_sealed = NULL, locked_until = EXCLUDED.locked_until, created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE k.expires_at <= now() OR (k.state = 'in_flight' AND k.locked_until <= now() AND k.fingerprint = EXCLUDED.fingerprint)
       RETURNING claim_id`,
      [c.principal, c.key, c.fingerprint, c.claimId, c.method, c.route, c.leaseSeconds, c.ttlSeconds],
    )) as { claim_id: string }[];
    return rows[0]?.claim_id === c.claimId;
  }

  /** The live (unexpired) row of a key, if any. */
  async read(principal: string, key: string): Promise<KeyRow | undefined> {
    const rows = (await this.db.query(
      `SELECT fingerprint, state, response_sealed FROM idempotency_keys WHERE principal = $1 AND key = $2 AND expires_at > now()`,
      [principal, key],
    )) as { fingerprint: string; state: IdempotencyKeyState; response_sealed: string | null }[];
    const row = rows[0];
    return row && { fingerprint: row.fingerprint, state: row.state, responseSealed: row.response_sealed };
  }

  async renew(principal: string, key: string, claimId: string, leaseSeconds: number): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $4) WHERE principal = $1 AND key = $2 AND claim_id = $3 AND state = 'in_flight'`,
      [principal, key, claimId, leaseSeconds],
    );
  }

  async complete(principal: string, key: string, claimId: string, status: number, sealed: string): Promise<void> {
    await this.db.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $4, response_sealed = $5, locked_until = NULL
        WHERE principal = $1 AND key = $2 AND claim_id = $3`,
      [principal, key, claimId, status, sealed],
    );
  }

  /** Forgets a claim whose request left no result worth repeating, so a retry runs. */
  async release(principal: string, key: string, claimId: string): Promise<void> {
    await this.db.query(`DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND claim_id = $3`, [
      principal,
      key,
      claimId,
    ]);
  }

  /** Removes expired keys, once per cluster per run: a replica that does not get the lock skips. */
  async pruneExpired(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [{ locked }] = (await tx.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [PRUNE_LOCK_KEY])) as [
        { locked: boolean },
      ];
      if (!locked) return 0;
      const res = (await tx.query(`DELETE FROM idempotency_keys WHERE expires_at <= now()`)) as [unknown, number];
      return res[1] ?? 0;
    });
  }
}
