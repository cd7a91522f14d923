import { DomainError } from '../http/errors';
import { AuthenticationError } from '../access/access.errors';

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
    super('the platform is not set up yet: create the first admin with POST /v1/auth/bootstrap', 'bootstrap_required', 409);
  }
}

export class InvalidSetupTokenError extends DomainError {
  constructor() {
    super('bootstrap needs the setup_token configured on this hub (HOSTPLANE_BOOTSTRAP_TOKEN)', 'invalid_setup_token', 403);
  }
}

export class RegistrationClosedError extends DomainError {
  constructor(policy: 'closed' | 'invite-only') {
    super(
      policy === 'closed' ? 'registration is closed on this hub: ask an administrator for an account' : 'registration needs an invite: pass the invite_token from your invite mail',
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
    super(`${what}: try again in ${retryAfterSeconds} s`, code, 429, { retry_after: retryAfterSeconds }, { 'retry-after': String(retryAfterSeconds) });
  }
}

export type RefreshProblem = 'invalid_refresh_token' | 'refresh_token_reused' | 'session_revoked' | 'session_expired' | 'user_suspended';

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
    code: 'invalid_mfa_code' | 'mfa_code_reused' | 'mfa_not_enabled' | 'mfa_already_enabled' | 'mfa_not_enrolling' | 'invalid_challenge',
    message: string,
    status: number,
  ) {
    super(message, code, status);
  }
}

export class ResetTokenError extends DomainError {
  constructor(code: 'invalid_reset_token' | 'reset_token_used' | 'reset_token_expired') {
    const messages = {
      invalid_reset_token: 'this password reset token is not valid: request a new one with POST /v1/auth/forgot-password',
      reset_token_used: 'this password reset token was already used: request a new one',
      reset_token_expired: 'this password reset token has expired: request a new one',
    };
    super(messages[code], code, 400);
  }
}

export class GithubOAuthError extends DomainError {
  constructor(code: 'github_oauth_disabled' | 'invalid_oauth_state' | 'github_oauth_failed' | 'github_email_unverified', message: string, status: number) {
    super(message, code, status);
  }
}
