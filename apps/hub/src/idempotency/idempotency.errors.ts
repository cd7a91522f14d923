import { DomainError } from '../http/errors';

export class InvalidIdempotencyKeyError extends DomainError {
  constructor(reason: string) {
    super(`Idempotency-Key is invalid: ${reason}; use 1 to 255 printable ASCII characters, e.g. a UUID`, 'invalid_idempotency_key', 400);
  }
}

export class IdempotencyKeyRefusedError extends DomainError {
  constructor(method: string, route: string, reason: string) {
    super(`${method} ${route} does not take an Idempotency-Key: ${reason}`, 'idempotency_key_unsupported', 400);
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super('this Idempotency-Key was already used with a different request (method, URL, organization or body): use a new key for a new request', 'idempotency_key_reused', 422);
  }
}

export class IdempotencyKeyInFlightError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(
      'a request with this Idempotency-Key is still being processed: retry later to get its response',
      'idempotency_key_in_flight',
      409,
      { retry_after: retryAfterSeconds },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
}

export class IdempotencyAnswerUnreadableError extends DomainError {
  constructor() {
    super(
      'a request with this Idempotency-Key was already answered, but that answer can no longer be read (the hub\'s encryption key changed): check whether the work was done, then use a new key',
      'idempotency_answer_unreadable',
      409,
    );
  }
}
