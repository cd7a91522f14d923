import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessCache, accessKeys } from './access-cache';
import type { Role } from './permissions';

export interface MembershipState {
  role: Role;
  grants: string[];
}

export interface UserAccessState {
  id: string;
  email: string;
  status: UserStatus;
  platformAdmin: boolean;
  memberships: Map<string, MembershipState>;
}

export interface SessionState {
  userId: string;
  revoked: boolean;
}

export interface ApiTokenState {
  id: string;
  userId: string;
  orgId: string;
  tokenHash: string;
  scopes: string[] | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revoked: boolean;
}

interface UserRow {
  id: string;
  email: string;
  status: UserStatus;
  is_platform_admin: boolean;
  memberships: { org: string; role: Role; grants: string[] }[];
}

/** An account's standing; a suspended user is refused everywhere. The users domain stores it. */
export type UserStatus = 'active' | 'suspended';

/**
 * The read model of the access guard: one query per fact, each cached by `AccessCache`. Writers
 * (suspend, role change, token revoke, logout, …) invalidate the matching `accessKeys` entry.
 */
@Injectable()
export class AccessState {
  constructor(
    private readonly db: DataSource,
    private readonly cache: AccessCache,
  ) {}

  user(userId: string): Promise<UserAccessState | null> {
    return this.cache.get(accessKeys.user(userId), async () => {
      const rows = (await this.db.query(
        `SELECT u.id, u.email, u.status, u.is_platform_admin,
                COALESCE(json_agg(json_build_object(
                  'org', m.org_id, 'role', m.role,
                  'grants', (SELECT COALESCE(array_agg(p.permission_key), '{}') FROM member_permissions p
                             WHERE p.org_id = m.org_id AND p.user_id = m.user_id)
                )) FILTER (WHERE m.org_id IS NOT NULL), '[]') AS memberships
           FROM users u LEFT JOIN organization_members m ON m.user_id = u.id
          WHERE u.id = $1
          GROUP BY u.id`,
        [userId],
      )) as UserRow[];
      const row = rows[0];
      if (!row) return null;
      return {
        id: row.id,
        email: row.email,
        status: row.status,
        platformAdmin: row.is_platform_admin,
        memberships: new Map(row.memberships.map((m) => [m.org, { role: m.role, grants: m.grants }])),
      };
    });
  }

  session(sessionId: string): Promise<SessionState | null> {
    return this.cache.get(accessKeys.session(sessionId), async () => {
      const rows = (await this.db.query(`SELECT user_id, revoked_at FROM sessions WHERE id = $1`, [sessionId])) as {
        user_id: string;
        revoked_at: Date | null;
      }[];
      const row = rows[0];
      return row ? { userId: row.user_id, revoked: row.revoked_at !== null } : null;
    });
  }

  apiToken(tokenHash: string): Promise<ApiTokenState | null> {
    return this.cache.get(accessKeys.apiToken(tokenHash), async () => {
      const rows = (await this.db.query(
        `SELECT id, user_id, org_id, token_hash, scopes, expires_at, last_used_at, revoked_at FROM api_tokens WHERE token_hash = $1`,
        [tokenHash],
      )) as {
        id: string;
        user_id: string;
        org_id: string;
        token_hash: string;
        scopes: string[] | null;
        expires_at: Date | null;
        last_used_at: Date | null;
        revoked_at: Date | null;
      }[];
      const row = rows[0];
      if (!row) return null;
      return {
        id: row.id,
        userId: row.user_id,
        orgId: row.org_id,
        tokenHash: row.token_hash,
        scopes: row.scopes,
        expiresAt: row.expires_at,
        lastUsedAt: row.last_used_at,
        revoked: row.revoked_at !== null,
      };
    });
  }

  orgExists(orgId: string): Promise<boolean> {
    return this.cache.get(accessKeys.org(orgId), async () => {
      const rows = (await this.db.query(`SELECT 1 FROM organizations WHERE id = $1`, [orgId])) as unknown[];
      return rows.length > 0;
    });
  }

  /**
   * Records a use of an API token at most once a minute (across replicas: the UPDATE's condition
   * decides). Resolves to true when this was the token's first use ever.
   */
  async touchApiToken(tokenId: string): Promise<boolean> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows] = (await this.db.query(
      `UPDATE api_tokens t SET last_used_at = now()
         FROM (SELECT id, last_used_at AS prev FROM api_tokens WHERE id = $1 FOR UPDATE) o
        WHERE t.id = o.id AND (o.prev IS NULL OR o.prev < now() - interval '60 seconds')
        RETURNING o.prev`,
      [tokenId],
    )) as [{ prev: Date | null }[], number];
    return rows.length > 0 && rows[0]!.prev === null;
  }
}
