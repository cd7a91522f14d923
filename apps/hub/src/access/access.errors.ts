import { DomainError } from '../http/errors';
import type { PermissionKey } from './permissions';
import { defineErrors } from '../http/error-catalog';

/** Who the caller is (401) and what they may do (403); `unauthorized` itself is an HTTP_ERRORS code. */
export const ACCESS_ERRORS = defineErrors('access', {
  ambiguous_credentials: { status: 401, message: 'send either Authorization or X-Api-Key, not both' },
  invalid_token: { status: 401, message: 'the token is unknown or its signature is wrong' },
  invalid_token_checksum: { status: 401, message: 'the API token checksum does not match: mistyped or truncated' },
  malformed_token: { status: 401, message: 'the token is not in a known format' },
  token_expired: { status: 401, message: 'the token expired' },
  token_revoked: { status: 401, message: 'the API token was revoked' },
  token_org_access_lost: { status: 401, message: "the API token's owner is no longer a member of its organization" },
  session_revoked: { status: 401, message: 'the login session was revoked: log in again' },
  user_suspended: { status: 401, otherStatuses: [403], message: 'the account is suspended' },
  permission_denied: {
    status: 403,
    message: 'the caller lacks the permission this needs (in the organization, or on the host)',
  },
  platform_admin_required: { status: 403, message: 'this needs a platform admin' },
  session_required: { status: 403, message: 'this needs a login session; API tokens cannot do it' },
  org_access_revoked: { status: 403, message: 'the caller is no longer a member of the organization' },
  org_required: { status: 400, message: 'this acts in an organization: send its id in the X-Org-Id header' },
  org_mismatch: { status: 400, message: 'X-Org-Id names another organization than the path' },
});

/** 401: the credentials are missing or unusable. `code` says why (token_expired, user_suspended, …). */
export class AuthenticationError extends DomainError {
  constructor(code: string, message: string) {
    super(message, code, 401, undefined, { 'www-authenticate': `Bearer realm="hostplane", error="invalid_token"` });
  }
}

export class MissingCredentialsError extends DomainError {
  constructor() {
    super(
      'authentication required: send "Authorization: Bearer <token>" or "X-Api-Key: hp_pat_…"',
      'unauthorized',
      401,
      undefined,
      {
        'www-authenticate': 'Bearer realm="hostplane"',
      },
    );
  }
}

export class PermissionDeniedError extends DomainError {
  constructor(permission: PermissionKey) {
    super(`this needs the permission '${permission}' in the organization`, 'permission_denied', 403, { permission });
  }
}

export class PlatformAdminRequiredError extends DomainError {
  constructor(viaToken: boolean) {
    super(
      viaToken
        ? "this needs a platform admin; an API token acts as one only when created with the 'platform.admin' scope"
        : 'this needs a platform admin',
      'platform_admin_required',
      403,
    );
  }
}

export class SessionRequiredError extends DomainError {
  constructor() {
    super('this needs a login session (JWT access token); API tokens cannot do it', 'session_required', 403);
  }
}

export class OrgRequiredError extends DomainError {
  constructor() {
    super('this acts in an organization: send its id in the X-Org-Id header', 'org_required', 400);
  }
}

export class OrgMismatchError extends DomainError {
  constructor(header: string, path: string) {
    super(`X-Org-Id (${header}) and the organization in the path (${path}) differ`, 'org_mismatch', 400);
  }
}

/** The same answer whether the organization does not exist or the caller is not in it. */
export class OrgNotFoundError extends DomainError {
  constructor(orgId: string) {
    super(`organization ${orgId} not found`, 'not_found', 404);
  }
}
