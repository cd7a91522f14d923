import type { EntityManager } from 'typeorm';

/**
 * What the users domain needs from the auth domain, which owns `sessions`: ending a user's
 * sessions inside the caller's transaction (suspension, password change). Provided by the auth
 * domain under `USER_SESSIONS`; the hub does not boot without it.
 */
export interface UserSessions {
  /** Revokes every live session of the user but `keepSessionId`; returns the revoked ids. */
  revokeAll(m: EntityManager, userId: string, reason: string, keepSessionId?: string): Promise<string[]>;
}

export const USER_SESSIONS = Symbol('UserSessions');
