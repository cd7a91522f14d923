import { DomainError } from '../http/errors';
import type { PermissionKey } from './permissions';

/** 401: the credentials are missing or unusable. `code` says why (token_expired, user_suspended, …). */
export class AuthenticationError extends DomainError {
  constructor(code: string, message: string) {
    super(message, code, 401, undefined, { 'www-authenticate': `Bearer realm="hostplane", error="invalid_token"` });
  }
}

export class MissingCredentialsError extends DomainError {
  constructor() {
    super('authentication required: send "Authorization: Bearer <token>" or "X-Api-Key: hp_pat_…"', 'unauthorized', 401, undefined, {
      'www-authenticate': 'Bearer realm="hostplane"',
    });
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
