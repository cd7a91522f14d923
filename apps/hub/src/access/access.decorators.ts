import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { PermissionKey } from './permissions';
import type { Principal } from './principal';

/** What a route needs; the access guard reads it and is the only place that decides. */
export type AccessRule =
  | { kind: 'public' }
  | { kind: 'authenticated'; org: boolean; sessionOnly: boolean }
  | { kind: 'permission'; permission: PermissionKey; sessionOnly: boolean }
  | { kind: 'platform_admin'; sessionOnly: boolean };

export const ACCESS_RULE = 'hostplane:access-rule';

export interface AccessOptions {
  /** Refuse API tokens (403 session_required): account security and credential management. */
  sessionOnly?: boolean;
}

/** Reachable without credentials (credentials sent anyway are ignored). Pair with `public: true` in `@ApiDoc`. */
export const Public = () => SetMetadata(ACCESS_RULE, { kind: 'public' } satisfies AccessRule);

/**
 * Any signed-in user or API token. With `org: true` the request must also act in an organization
 * the caller belongs to (X-Org-Id or the token's org), without needing a specific permission.
 */
export const Authenticated = (options: AccessOptions & { org?: boolean } = {}) =>
  SetMetadata(ACCESS_RULE, {
    kind: 'authenticated',
    org: options.org ?? false,
    sessionOnly: options.sessionOnly ?? false,
  } satisfies AccessRule);

/**
 * Needs `permission` in the active organization: the `:orgId` path parameter when the route has
 * one, else the X-Org-Id header, else the API token's organization.
 */
export const RequirePermission = (permission: PermissionKey, options: AccessOptions = {}) =>
  SetMetadata(ACCESS_RULE, {
    kind: 'permission',
    permission,
    sessionOnly: options.sessionOnly ?? false,
  } satisfies AccessRule);

/** Platform administration, above organizations. */
export const PlatformAdmin = (options: AccessOptions = {}) =>
  SetMetadata(ACCESS_RULE, { kind: 'platform_admin', sessionOnly: options.sessionOnly ?? false } satisfies AccessRule);

/** The authenticated caller of a non-public route. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new Error('@CurrentPrincipal() used on a route the access guard did not authenticate');
  return principal;
});
