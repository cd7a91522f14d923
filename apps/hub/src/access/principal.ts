import type { PermissionKey, Role } from './permissions';
import { OrgRequiredError } from './access.errors';

/** The organization a request acts in, and what the caller may do there. */
export interface OrgContext {
  id: string;
  /** null when a platform admin acts in an organization they are not a member of. */
  role: Role | null;
  permissions: ReadonlySet<PermissionKey>;
}

/**
 * Who is calling: a user with a login session (JWT) or an API token acting for its owner.
 * Set on the request by the access guard; read it with `@CurrentPrincipal()`.
 */
export interface Principal {
  kind: 'user' | 'api_token';
  userId: string;
  email: string;
  /** For an API token: only when its owner is a platform admin and it has the 'platform.admin' scope. */
  platformAdmin: boolean;
  /** The login session of a JWT; null for API tokens. */
  sessionId: string | null;
  apiTokenId: string | null;
  /** An API token's scopes; null = not narrowed. */
  scopes: readonly PermissionKey[] | null;
  /** The organization the request acts in; null on routes that are not about one organization. */
  org: OrgContext | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The active organization of a request, for routes declared with an org (any `@RequirePermission`). */
export function requireOrg(principal: Principal): OrgContext {
  if (!principal.org) throw new OrgRequiredError();
  return principal.org;
}

export function hasPermission(principal: Principal, key: PermissionKey): boolean {
  return principal.org?.permissions.has(key) ?? false;
}

/**
 * Adds the active organization to a TypeORM `where`: `repo.findOneBy(inOrg(p, { id }))`. Every
 * repository query of an org-owned entity goes through this, so another organization's row is
 * simply not found (a 404, never a 403 that confirms it exists).
 */
export function inOrg<W extends object>(principal: Principal, where: W): W & { orgId: string } {
  return { ...where, orgId: requireOrg(principal).id };
}
