import type { EntityManager } from 'typeorm';

/**
 * Revokes every live session of a user (suspension, password change or reset), optionally
 * keeping one. Returns the revoked ids so callers can invalidate them in the access cache.
 */
export async function revokeUserSessions(
  m: EntityManager,
  userId: string,
  reason: string,
  keepSessionId?: string,
): Promise<string[]> {
  const rows = (await m.query(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
      WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)
      RETURNING id`,
    [userId, reason, keepSessionId ?? null],
  )) as [{ id: string }[], number];
  return rows[0].map((r) => r.id);
}
