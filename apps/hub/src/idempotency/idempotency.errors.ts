import { DomainError } from '../http/errors';
import { defineErrors } from '../http/error-catalog';

export const IDEMPOTENCY_ERRORS = defineErrors('idempotency', {
  invalid_idempotency_key: { status: 400, message: 'Idempotency-Key must be 1 to 255 printable ASCII characters' },
  idempotency_key_unsupported: { status: 400, message: 'this route does not take an Idempotency-Key' },
  idempotency_key_reused: { status: 422, message: 'the key was already used with a different request' },
  idempotency_key_in_flight: { status: 409, message: 'a request with this key is still running: retry later' },
  idempotency_answer_unreadable: { status: 409, message: 'the kept answer of this key cannot be replayed' },
});

export class InvalidIdempotencyKeyError extends DomainError {
  constructor(reason: string) {
    super(
      `Idempotency-Key is invalid: ${reason}; use 1 to 255 printable ASCII characters, e.g. a UUID`,
      'invalid_idempotency_key',
      400,
    );
  }
}

export class IdempotencyKeyRefusedError extends DomainError {
  constructor(method: string, route: string, reason: string) {
    super(`${method} ${route} does not take an Idempotency-Key: ${reason}`, 'idempotency_key_unsupported', 400);
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      'this Idempotency-Key was already used with a different request (method, URL, organization or body): use a new key for a new request',
      'idempotency_key_reused',
      422,
    );
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
      "a request with this Idempotency-Key was already answered, but that answer can no longer be read (the hub's encryption key changed): check whether the work was done, then use a new key",
      'idempotency_answer_unreadable',
      409,
    );
  }
}
