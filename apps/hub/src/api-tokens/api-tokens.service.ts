import { Injectable } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { TOKEN_PREFIXES } from '@hostplane/protocol';
import { AccessCache, accessKeys } from '../access/access-cache';
import type { PermissionKey } from '../access/permissions';
import { Principal, requireOrg } from '../access/principal';
import { issueOpaqueToken, sha256Hex, tokenHint } from '../crypto/opaque-token';
import { DomainError, NotFoundError } from '../http/errors';
import type { Page, Pagination } from '../http/pagination';
import { ApiToken } from './api-token.entity';
import type { ApiTokenView, CreatedApiTokenView } from './api-tokens.schemas';
import { API_TOKEN_ERRORS } from './api-tokens.errors';

const PREFIX = TOKEN_PREFIXES.personalAccess;

export class ScopeNotHeldError extends DomainError {
  constructor(keys: string[]) {
    super(
      `a token cannot have more than you: you do not hold ${keys.map((k) => `'${k}'`).join(', ')} in this organization`,
      'scope_not_held',
      403,
      { scopes: keys },
    );
  }
}

function toView(t: ApiToken): ApiTokenView {
  return {
    id: t.id,
    name: t.name,
    org_id: t.orgId,
    token_hint: t.tokenHint,
    scopes: t.scopes,
    expires_at: t.expiresAt?.toISOString() ?? null,
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    created_at: t.createdAt.toISOString(),
  };
}

/**
 * Personal access tokens (`hp_pat_…`) for CI and automation. A token acts for its owner in one
 * organization, narrowed to its scopes; its value is returned once and stored as SHA-256.
 */
@Injectable()
export class ApiTokensService {
  constructor(
    private readonly db: DataSource,
    private readonly cache: AccessCache,
  ) {}

  async create(
    p: Principal,
    input: { name: string; expiresIn: number | null; scopes?: PermissionKey[] },
  ): Promise<CreatedApiTokenView> {
    const org = requireOrg(p);
    // A platform admin may act in any organization, but a token acts as a member of its own.
    if (org.role === null)
      throw API_TOKEN_ERRORS.not_a_member.error(
        'an API token acts as a member of its organization, and you are not a member of this one',
      );
    if (input.scopes) {
      const missing = input.scopes.filter((s) => (s === 'platform.admin' ? !p.platformAdmin : !org.permissions.has(s)));
      if (missing.length) throw new ScopeNotHeldError(missing);
    }
    const token = issueOpaqueToken(PREFIX);
    const repo = this.db.getRepository(ApiToken);
    const saved = await repo.save(
      repo.create({
        userId: p.userId,
        orgId: org.id,
        name: input.name,
        tokenHash: sha256Hex(token),
        tokenHint: tokenHint(token, PREFIX),
        scopes: input.scopes ?? null,
        expiresAt: input.expiresIn === null ? null : new Date(Date.now() + input.expiresIn * 1000),
      }),
    );
    return { ...toView(saved), token };
  }

  /** The caller's live tokens; an API token sees only those of its own organization. */
  async list(p: Principal, page: Pagination): Promise<Page<ApiTokenView>> {
    const [rows, total] = await this.db.getRepository(ApiToken).findAndCount({
      where: { userId: p.userId, revokedAt: IsNull(), ...(p.kind === 'api_token' ? { orgId: requireOrg(p).id } : {}) },
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: page.offset,
      take: page.limit,
    });
    return { data: rows.map(toView), total };
  }

  /**
   * Revokes one of the caller's own tokens (an API token: only within its organization, e.g.
   * itself); it is refused from the next request on, on every replica.
   */
  async revoke(p: Principal, id: string): Promise<void> {
    const rows = (await this.db.query(
      `UPDATE api_tokens SET revoked_at = now()
        WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND ($3::uuid IS NULL OR org_id = $3::uuid)
        RETURNING token_hash`,
      [id, p.userId, p.kind === 'api_token' ? requireOrg(p).id : null],
    )) as [{ token_hash: string }[], number];
    const row = rows[0][0];
    if (!row) throw new NotFoundError(`API token ${id}`);
    await this.cache.invalidate(accessKeys.apiToken(row.token_hash));
  }
}
