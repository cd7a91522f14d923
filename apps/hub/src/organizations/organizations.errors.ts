import { ConflictError, DomainError } from '../http/errors';
import { defineErrors } from '../http/error-catalog';

export const ORGANIZATION_ERRORS = defineErrors('organizations', {
  last_owner: { status: 409, message: 'the organization would be left without an owner' },
  already_member: { status: 409, message: 'already a member of this organization' },
  role_escalation: { status: 403, message: 'you cannot grant a role or permission above your own' },
  invalid_invite: { status: 404, message: 'not a valid invite token' },
  invite_expired: { status: 400, message: 'the invite expired: ask for a new one' },
  invite_used: { status: 409, message: 'the invite was already accepted' },
  invite_email_mismatch: { status: 403, message: 'the invite was sent to another email address' },
  mail_failed: { status: 503, message: 'the mail server did not accept the message' },
});

export class LastOwnerError extends ConflictError {
  constructor(orgName?: string) {
    super(
      orgName
        ? `this would leave "${orgName}" without an owner: make another member owner first`
        : 'an organization must keep at least one owner: make another member owner first',
      'last_owner',
    );
  }
}

export class AlreadyMemberError extends ConflictError {
  constructor(email: string) {
    super(`${email} is already a member of this organization`, 'already_member');
  }
}

/** A role or permission above the caller's own: nobody hands out more than they hold. */
export class RoleEscalationError extends DomainError {
  constructor(message: string) {
    super(message, 'role_escalation', 403);
  }
}

export class InviteProblemError extends DomainError {
  constructor(
    code: 'invalid_invite' | 'invite_expired' | 'invite_used' | 'invite_email_mismatch',
    message: string,
    status = 400,
  ) {
    super(message, code, status);
  }
}

export class MailFailedError extends DomainError {
  constructor(what: string) {
    super(`${what}: the mail server did not accept the message; try again later`, 'mail_failed', 503);
  }
}
