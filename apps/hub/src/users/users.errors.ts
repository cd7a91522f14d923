import { ConflictError, DomainError } from '../http/errors';

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
