import { DomainError } from '../http/errors';
import { AuthenticationError } from '../access/access.errors';
import { defineErrors } from '../http/error-catalog';

export const AUTH_ERRORS = defineErrors('auth', {
  bootstrap_disabled: { status: 403, message: 'the platform already has users, or bootstrap is turned off' },
  bootstrap_required: {
    status: 409,
    message: 'the platform is not set up yet: create the first admin with POST /v1/auth/bootstrap',
  },
  invalid_setup_token: { status: 403, message: 'bootstrap needs the setup_token configured on this hub' },
  registration_closed: { status: 403, message: 'registration is closed on this hub' },
  invite_required: { status: 403, message: 'registration needs an invite token' },
  invalid_credentials: { status: 401, message: 'email or password is wrong' },
  account_locked: {
    status: 429,
    message: 'too many failed logins for this account: retry after `retry_after` seconds',
  },
  ip_locked: { status: 429, message: 'too many failed logins from this address: retry after `retry_after` seconds' },
  invalid_mfa_code: { status: 401, message: 'the MFA code is wrong' },
  mfa_code_reused: { status: 401, message: 'this MFA code was already used: wait for the next one' },
  invalid_challenge: { status: 401, message: 'the MFA challenge token is not valid or expired' },
  mfa_rate_limited: { status: 429, message: 'too many MFA attempts (5 a minute)' },
  mfa_already_enabled: { status: 409, message: 'MFA is already on' },
  mfa_not_enabled: { status: 409, message: 'MFA is not on for this account' },
  mfa_not_enrolling: { status: 409, message: 'start with POST /v1/auth/mfa/enroll' },
  invalid_refresh_token: { status: 401, message: 'the refresh token is unknown' },
  refresh_token_reused: {
    status: 401,
    message: 'a rotated refresh token was used again: its whole session was revoked',
  },
  session_expired: { status: 401, message: 'the login session expired: log in again' },
  invalid_reset_token: { status: 400, message: 'the password reset token is not valid' },
  reset_token_used: { status: 400, message: 'the password reset token was already used' },
  reset_token_expired: { status: 400, message: 'the password reset token expired' },
  github_oauth_disabled: { status: 404, message: 'GitHub sign-in is not configured on this hub' },
  invalid_oauth_state: { status: 400, message: 'the sign-in state is missing or does not match this browser' },
  github_oauth_failed: {
    status: 401,
    otherStatuses: [400, 503],
    message: 'GitHub refused the sign-in (401), sent no code (400) or could not be reached (503)',
  },
  github_email_unverified: { status: 403, message: 'the GitHub account has no verified primary email' },
});

export class BootstrapDisabledError extends DomainError {
  constructor(reason: 'done' | 'config') {
    super(
      reason === 'done'
        ? 'bootstrap is disabled: the platform already has users; sign in at POST /v1/auth/login'
        : 'bootstrap is disabled by configuration (HOSTPLANE_BOOTSTRAP_ENABLED=false)',
      'bootstrap_disabled',
      403,
    );
  }
}

export class BootstrapRequiredError extends DomainError {
  constructor() {
    super(
      'the platform is not set up yet: create the first admin with POST /v1/auth/bootstrap',
      'bootstrap_required',
      409,
    );
  }
}

export class InvalidSetupTokenError extends DomainError {
  constructor() {
    super(
      'bootstrap needs the setup_token configured on this hub (HOSTPLANE_BOOTSTRAP_TOKEN)',
      'invalid_setup_token',
      403,
    );
  }
}

export class RegistrationClosedError extends DomainError {
  constructor(policy: 'closed' | 'invite-only') {
    super(
      policy === 'closed'
        ? 'registration is closed on this hub: ask an administrator for an account'
        : 'registration needs an invite: pass the invite_token from your invite mail',
      policy === 'closed' ? 'registration_closed' : 'invite_required',
      403,
    );
  }
}

export class InvalidCredentialsError extends AuthenticationError {
  constructor() {
    super('invalid_credentials', 'email or password is wrong');
  }
}

export class UserSuspendedError extends DomainError {
  constructor() {
    super('this account is suspended: contact an administrator', 'user_suspended', 403);
  }
}

/** 429 with Retry-After: an account or address locked after repeated failures, or MFA attempts. */
export class LockedOutError extends DomainError {
  constructor(code: 'account_locked' | 'ip_locked' | 'mfa_rate_limited', retryAfterSeconds: number) {
    const what =
      code === 'account_locked'
        ? 'too many failed logins for this account'
        : code === 'ip_locked'
          ? 'too many failed logins from this address'
          : 'too many MFA attempts (5 per minute)';
    super(
      `${what}: try again in ${retryAfterSeconds} s`,
      code,
      429,
      { retry_after: retryAfterSeconds },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
}

export type RefreshProblem =
  'invalid_refresh_token' | 'refresh_token_reused' | 'session_revoked' | 'session_expired' | 'user_suspended';

export class RefreshRejectedError extends AuthenticationError {
  constructor(code: RefreshProblem) {
    const messages = {
      invalid_refresh_token: 'unknown refresh token',
      refresh_token_reused: 'this refresh token was already used: the session is revoked as a precaution; log in again',
      session_revoked: 'this session was revoked: log in again',
      session_expired: 'this session has expired: log in again',
      user_suspended: 'this account is suspended',
    };
    super(code, messages[code]);
  }
}

export class MfaError extends DomainError {
  constructor(
    code:
      | 'invalid_mfa_code'
      | 'mfa_code_reused'
      | 'mfa_not_enabled'
      | 'mfa_already_enabled'
      | 'mfa_not_enrolling'
      | 'invalid_challenge',
    message: string,
    status: number,
  ) {
    super(message, code, status);
  }
}

export class ResetTokenError extends DomainError {
  constructor(code: 'invalid_reset_token' | 'reset_token_used' | 'reset_token_expired') {
    const messages = {
      invalid_reset_token:
        'this password reset token is not valid: request a new one with POST /v1/auth/forgot-password',
      reset_token_used: 'this password reset token was already used: request a new one',
      reset_token_expired: 'this password reset token has expired: request a new one',
    };
    super(messages[code], code, 400);
  }
}

export class GithubOAuthError extends DomainError {
  constructor(
    code: 'github_oauth_disabled' | 'invalid_oauth_state' | 'github_oauth_failed' | 'github_email_unverified',
    message: string,
    status: number,
  ) {
    super(message, code, status);
  }
}
