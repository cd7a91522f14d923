import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { TOKEN_PREFIXES } from '@hostplane/protocol';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { checkOpaqueToken, constantTimeEqual, sha256Hex } from '../crypto/opaque-token';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { HUB_LOGGER } from '../http/logger';
import { AuthenticationError, OrgNotFoundError } from './access.errors';
import { accessKeys } from './access-cache';
import { AccessState, UserAccessState } from './access-state';
import { JWT_TYPES, JwtKeyring, JwtRejected } from './jwt-keyring';
import { effectivePermissions, isPermissionKey, PermissionKey } from './permissions';
import type { OrgContext, Principal } from './principal';

const PAT_PREFIX = TOKEN_PREFIXES.personalAccess;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOUCH_INTERVAL_MS = 60_000;

type Credential = { kind: 'jwt' | 'pat'; value: string };

const JWT_PROBLEMS: Record<JwtRejected['problem'], [string, string]> = {
  expired: ['token_expired', 'the access token has expired: get a new one from POST /v1/auth/refresh'],
  malformed: ['malformed_token', 'the bearer token is not a well-formed JWT or hp_pat_ token'],
  invalid: ['invalid_token', 'the access token signature or claims are invalid'],
  unknown_key: ['invalid_token', 'the access token was signed with a key this hub does not know'],
};

/**
 * Turns a request's credentials into a `Principal`: a JWT access token (its session must be
 * live) or an `hp_pat_` API token (shape and checksum checked before any lookup), sent as
 * `Authorization: Bearer …` or `X-Api-Key: …`. The owner's status is checked on every request.
 */
@Injectable()
export class Authenticator {
  readonly keyring: JwtKeyring;
  private readonly touchedAt = new Map<string, number>();

  constructor(
    private readonly state: AccessState,
    private readonly domainEvents: DomainEventBus,
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.keyring = new JwtKeyring(config.secrets.jwtKeys, config.http.publicUrl);
  }

  /** null when the request carries no credentials at all. */
  async authenticate(req: FastifyRequest): Promise<Principal | null> {
    const credential = credentialOf(req);
    if (!credential) return null;
    return credential.kind === 'pat' ? this.fromApiToken(credential.value, req) : this.fromJwt(credential.value);
  }

  /** What the principal may do in `orgId`; a 404 when it is not theirs to see. */
  async orgContext(principal: Principal, orgId: string): Promise<OrgContext> {
    if (!UUID.test(orgId)) throw new OrgNotFoundError(orgId);
    if (principal.kind === 'api_token') {
      if (principal.org?.id !== orgId) throw new OrgNotFoundError(orgId);
      return principal.org;
    }
    const user = await this.state.user(principal.userId);
    const membership = user?.memberships.get(orgId.toLowerCase());
    if (membership)
      return {
        id: orgId.toLowerCase(),
        role: membership.role,
        permissions: effectivePermissions(membership.role, membership.grants, null),
      };
    if (principal.platformAdmin && (await this.state.orgExists(orgId))) {
      return { id: orgId.toLowerCase(), role: null, permissions: effectivePermissions('platform_admin', [], null) };
    }
    throw new OrgNotFoundError(orgId);
  }

  private async fromJwt(token: string): Promise<Principal> {
    let claims;
    try {
      claims = await this.keyring.verify(token, JWT_TYPES.access);
    } catch (err) {
      if (!(err instanceof JwtRejected)) throw err;
      const [code, message] = JWT_PROBLEMS[err.problem];
      throw new AuthenticationError(code, message);
    }
    const sid = typeof claims.sid === 'string' ? claims.sid : '';
    return this.fromSession(claims.sub, sid);
  }

  /**
   * The principal of a connection opened earlier, as of now: the same checks of the session or
   * API token, the account and its memberships as a new request, from the (invalidated) cache.
   * A JWT's own lifetime is not re-checked: a socket outlives its access token, not its session.
   */
  async reauthenticate(principal: Principal, apiTokenHash: string | null): Promise<Principal> {
    if (principal.kind === 'api_token') {
      if (!apiTokenHash) throw new AuthenticationError('invalid_token', 'unknown API token');
      return this.fromApiTokenHash(apiTokenHash, null);
    }
    return this.fromSession(principal.userId, principal.sessionId ?? '');
  }

  private async fromSession(userId: string, sid: string): Promise<Principal> {
    const [session, user] = await Promise.all([
      UUID.test(sid) ? this.state.session(sid) : null,
      this.state.user(userId),
    ]);
    // The account's state first: a suspended user learns that, not that their session ended.
    const active = activeUser(user);
    if (!session || session.userId !== userId)
      throw new AuthenticationError('invalid_token', 'the access token does not belong to a known session');
    if (session.revoked)
      throw new AuthenticationError(
        'session_revoked',
        'this login session was revoked (logout, password change or token reuse): log in again',
      );
    return {
      kind: 'user',
      userId: active.id,
      email: active.email,
      platformAdmin: active.platformAdmin,
      sessionId: sid,
      apiTokenId: null,
      scopes: null,
      org: null,
    };
  }

  private async fromApiToken(token: string, req: FastifyRequest): Promise<Principal> {
    const problem = checkOpaqueToken(token, PAT_PREFIX);
    if (problem === 'bad_checksum')
      throw new AuthenticationError(
        'invalid_token_checksum',
        'the API token checksum does not match: it was mistyped or truncated',
      );
    if (problem)
      throw new AuthenticationError(
        'malformed_token',
        `an API token is "${PAT_PREFIX}" followed by 38 letters and digits`,
      );
    return this.fromApiTokenHash(sha256Hex(token), req);
  }

  /** `req` is null when re-checking an open connection (no use is recorded then). */
  private async fromApiTokenHash(hash: string, req: FastifyRequest | null): Promise<Principal> {
    const row = await this.state.apiToken(hash);
    if (!row || !constantTimeEqual(Buffer.from(row.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) {
      throw new AuthenticationError('invalid_token', 'unknown API token');
    }
    if (row.revoked) throw new AuthenticationError('token_revoked', 'this API token was revoked');
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now())
      throw new AuthenticationError('token_expired', `this API token expired at ${row.expiresAt.toISOString()}`);
    const user = activeUser(await this.state.user(row.userId));
    const membership = user.memberships.get(row.orgId);
    if (!membership)
      throw new AuthenticationError(
        'token_org_access_lost',
        "the API token's owner is no longer a member of its organization",
      );
    const scopes = row.scopes ? row.scopes.filter(isPermissionKey) : null;
    if (req) this.noteUse(row.id, row.lastUsedAt, req, user, row.orgId);
    return {
      kind: 'api_token',
      userId: user.id,
      email: user.email,
      platformAdmin: user.platformAdmin && (scopes?.includes('platform.admin') ?? false),
      sessionId: null,
      apiTokenId: row.id,
      scopes,
      org: {
        id: row.orgId,
        role: membership.role,
        permissions: effectivePermissions(membership.role, membership.grants, scopes as PermissionKey[] | null),
      },
    };
  }

  /** `last_used_at` at most once a minute, off the request path; the first use ever is audited. */
  private noteUse(
    tokenId: string,
    lastUsedAt: Date | null,
    req: FastifyRequest,
    user: UserAccessState,
    orgId: string,
  ): void {
    const now = Date.now();
    if (lastUsedAt && now - lastUsedAt.getTime() < TOUCH_INTERVAL_MS) return;
    if (now - (this.touchedAt.get(tokenId) ?? 0) < TOUCH_INTERVAL_MS) return;
    if (this.touchedAt.size > 100_000) this.touchedAt.clear();
    this.touchedAt.set(tokenId, now);
    const userAgent = req.headers['user-agent'];
    const firstUse = {
      tokenId,
      userId: user.id,
      email: user.email,
      orgId,
      ip: req.ip,
      userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
      requestId: String(req.id),
    };
    this.state.touchApiToken(tokenId).then(
      (first) => (first ? this.domainEvents.publish('api-token.first-used', firstUse) : undefined),
      (err: unknown) => this.log.warn({ reason: (err as Error).message, tokenId }, 'could not record API token use'),
    );
  }
}

/**
 * The access-cache keys whose invalidation may end what `principal` (authenticated from `req`)
 * holds open: its account, its session or API token, and the organization it acts in.
 */
export function accessKeysOf(
  req: FastifyRequest,
  principal: Principal,
): { keys: string[]; apiTokenHash: string | null } {
  const credential = credentialOf(req);
  const apiTokenHash =
    principal.kind === 'api_token' && credential?.kind === 'pat' ? sha256Hex(credential.value) : null;
  const keys = [accessKeys.user(principal.userId)];
  if (principal.sessionId) keys.push(accessKeys.session(principal.sessionId));
  if (apiTokenHash) keys.push(accessKeys.apiToken(apiTokenHash));
  if (principal.org) keys.push(accessKeys.org(principal.org.id));
  return { keys, apiTokenHash };
}

function activeUser(user: UserAccessState | null): UserAccessState {
  if (!user) throw new AuthenticationError('invalid_token', 'the account behind this token no longer exists');
  if (user.status === 'suspended') throw new AuthenticationError('user_suspended', 'this account is suspended');
  return user;
}

function credentialOf(req: FastifyRequest): Credential | null {
  const auth = req.headers.authorization;
  const apiKey = req.headers['x-api-key'];
  if (auth !== undefined && apiKey !== undefined) {
    throw new AuthenticationError('ambiguous_credentials', 'send either Authorization or X-Api-Key, not both');
  }
  if (typeof apiKey === 'string') {
    const value = apiKey.trim();
    if (!value.startsWith(PAT_PREFIX))
      throw new AuthenticationError('malformed_token', `X-Api-Key takes an API token starting with "${PAT_PREFIX}"`);
    return { kind: 'pat', value };
  }
  if (auth === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (!match) throw new AuthenticationError('malformed_token', 'the Authorization header must be "Bearer <token>"');
  const value = match[1]!;
  return { kind: value.startsWith(PAT_PREFIX) ? 'pat' : 'jwt', value };
}
