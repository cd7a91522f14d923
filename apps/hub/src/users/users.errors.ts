import { ConflictError, DomainError } from '../http/errors';
import { defineErrors } from '../http/error-catalog';

export const USER_ERRORS = defineErrors('users', {
  weak_password: { status: 422, message: 'the password is too short or too common' },
  email_taken: { status: 409, message: 'an account with this email already exists' },
  cannot_target_self: { status: 409, message: 'you cannot do this to your own account' },
  wrong_password: { status: 403, message: 'the current password is wrong' },
});

export class WeakPasswordError extends DomainError {
  constructor(reason: string) {
    super(reason, 'weak_password', 422);
  }
}

export class EmailTakenError extends ConflictError {
  constructor(email: string) {
    super(`an account with the email ${email} already exists`, 'email_taken');
  }
}

export class SelfTargetError extends ConflictError {
  constructor(what: string) {
    super(`you cannot ${what} your own account`, 'cannot_target_self');
  }
}

export class WrongPasswordError extends DomainError {
  constructor() {
    super('the current password is wrong', 'wrong_password', 403);
  }
}
