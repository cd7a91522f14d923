import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AccessCache, accessKeys } from '../access/access-cache';
import { JWT_TYPES } from '../access/jwt-keyring';
import { Authenticator } from '../access/authenticator';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { randomSecret, sha256Hex } from '../crypto/opaque-token';
import type { AuditNote } from '../audit/audit-note';
import { ACCESS_TOKEN_TTL_SECONDS, TokenPair } from './auth.schemas';
import { RefreshProblem, RefreshRejectedError } from './auth.errors';
import { RefreshToken, Session, SessionMethod } from './session.entity';

export const REFRESH_PREFIX = 'hp_rt_';

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

interface RefreshRow {
  token_id: string;
  used_at: Date | null;
  session_id: string;
  user_id: string;
  revoked_at: Date | null;
  expires_at: Date;
  status: string;
}

type RefreshOutcome =
  | { ok: true; userId: string; sessionId: string; refreshToken: string }
  | { ok: false; code: RefreshProblem; userId?: string; sessionId?: string };

/**
 * Login sessions. Each is a family of refresh tokens: a refresh token is random, stored as
 * SHA-256 and works once; using it returns a new one. Presenting a token that was already
 * rotated means it was copied, so the whole family is revoked and its access tokens (which
 * name the session as `sid`) stop working at the next request.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly db: DataSource,
    private readonly authenticator: Authenticator,
    private readonly cache: AccessCache,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  async start(
    userId: string,
    method: SessionMethod,
    mfa: boolean,
    client: ClientInfo,
    manager?: EntityManager,
  ): Promise<TokenPair> {
    const m = manager ?? this.db.manager;
    const session = await m
      .getRepository(Session)
      .save(
        m
          .getRepository(Session)
          .create({ userId, method, mfa, ip: client.ip, userAgent: client.userAgent, expiresAt: this.expiry() }),
      );
    const refreshToken = randomSecret(REFRESH_PREFIX);
    await m.getRepository(RefreshToken).insert({ sessionId: session.id, tokenHash: sha256Hex(refreshToken) });
    return this.pair(userId, session.id, refreshToken);
  }

  async refresh(refreshToken: string, note: AuditNote): Promise<TokenPair> {
    const outcome = await this.db.transaction((m) => this.rotate(m, refreshToken));
    if (outcome.userId) note.actorId = outcome.userId;
    if (!outcome.ok) {
      note.details = { reason: outcome.code, ...(outcome.sessionId ? { session_id: outcome.sessionId } : {}) };
      if (outcome.code === 'refresh_token_reused' && outcome.sessionId)
        await this.cache.invalidate(accessKeys.session(outcome.sessionId));
      throw new RefreshRejectedError(outcome.code);
    }
    note.targetType = 'session';
    note.targetId = outcome.sessionId;
    return this.pair(outcome.userId, outcome.sessionId, outcome.refreshToken);
  }

  /** Ends a session: its refresh tokens and its access tokens stop working. */
  async revoke(sessionId: string, reason: string): Promise<boolean> {
    const rows = (await this.db.query(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
      [sessionId, reason],
    )) as [unknown[], number];
    await this.cache.invalidate(accessKeys.session(sessionId));
    return rows[0].length > 0;
  }

  /** Revokes the session a refresh token belongs to; unknown tokens are ignored (RFC 7009). */
  async revokeByRefreshToken(refreshToken: string, note: AuditNote): Promise<void> {
    const rows = (await this.db.query(
      `SELECT s.id, s.user_id FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE rt.token_hash = $1`,
      [sha256Hex(refreshToken)],
    )) as { id: string; user_id: string }[];
    const row = rows[0];
    if (!row) return;
    note.actorId = row.user_id;
    note.targetType = 'session';
    note.targetId = row.id;
    await this.revoke(row.id, 'revoked by refresh token');
  }

  private async rotate(m: EntityManager, refreshToken: string): Promise<RefreshOutcome> {
    if (!refreshToken.startsWith(REFRESH_PREFIX)) return { ok: false, code: 'invalid_refresh_token' };
    const rows = (await m.query(
      `SELECT rt.id AS token_id, rt.used_at, s.id AS session_id, s.user_id, s.revoked_at, s.expires_at, u.status
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id
        WHERE rt.token_hash = $1
        FOR UPDATE OF rt, s`,
      [sha256Hex(refreshToken)],
    )) as RefreshRow[];
    const row = rows[0];
    if (!row) return { ok: false, code: 'invalid_refresh_token' };
    const who = { userId: row.user_id, sessionId: row.session_id };
    if (row.revoked_at) return { ok: false, code: 'session_revoked', ...who };
    if (row.used_at) {
      await m.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'refresh token reuse' WHERE id = $1`, [
        row.session_id,
      ]);
      return { ok: false, code: 'refresh_token_reused', ...who };
    }
    if (row.expires_at.getTime() <= Date.now()) return { ok: false, code: 'session_expired', ...who };
    if (row.status === 'suspended') return { ok: false, code: 'user_suspended', ...who };
    const next = randomSecret(REFRESH_PREFIX);
    await m.query(`UPDATE refresh_tokens SET used_at = now() WHERE id = $1`, [row.token_id]);
    await m.getRepository(RefreshToken).insert({ sessionId: row.session_id, tokenHash: sha256Hex(next) });
    await m.query(`UPDATE sessions SET last_refreshed_at = now(), expires_at = $2 WHERE id = $1`, [
      row.session_id,
      this.expiry(),
    ]);
    return { ok: true, ...who, refreshToken: next };
  }

  private async pair(userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
    const accessToken = await this.authenticator.keyring.sign(JWT_TYPES.access, userId, ACCESS_TOKEN_TTL_SECONDS, {
      sid: sessionId,
    });
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      token_type: 'Bearer',
    };
  }

  private expiry(): Date {
    return new Date(Date.now() + this.config.auth.refreshTokenTtlDays * 86_400_000);
  }
}
