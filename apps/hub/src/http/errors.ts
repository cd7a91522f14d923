/**
 * The one error hierarchy of the hub. Services throw these; the exception filter maps them to
 * `{"error": message, "code": code}` with `status`. `details` is added to the body when present.
 */
export class DomainError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export interface FieldIssue {
  path: string;
  message: string;
}

export class ValidationFailedError extends DomainError {
  constructor(
    where: string,
    readonly fields: FieldIssue[],
  ) {
    const first = fields[0];
    super(
      first ? `invalid ${where}: ${first.path ? `${first.path}: ` : ''}${first.message}` : `invalid ${where}`,
      'validation_failed',
      400,
      { fields },
    );
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super(`${what} not found`, 'not_found', 404);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, code = 'conflict') {
    super(message, code, 409);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'authentication required', code = 'unauthorized') {
    super(message, code, 401);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'not allowed', code = 'forbidden') {
    super(message, code, 403);
  }
}

export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number, message = 'too many requests, slow down') {
    super(
      message,
      'rate_limited',
      429,
      { retry_after: retryAfterSeconds },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
}

export class ServiceUnavailableError extends DomainError {
  constructor(message: string, code = 'unavailable', details?: Record<string, unknown>) {
    super(message, code, 503, details);
  }
}

/** NUL or an unpaired UTF-16 surrogate in request text: nothing downstream can store or compare it safely. */
export class InvalidTextError extends DomainError {
  constructor(where: string, path: string) {
    super(
      `invalid ${where}: ${path ? `${path}: ` : ''}text must not contain NUL characters or unpaired UTF-16 surrogates`,
      'invalid_text',
      400,
      { fields: [{ path, message: 'contains NUL or an unpaired surrogate' }] },
    );
  }
}

/** A backing service (Redis) is down: the request failed fast instead of waiting for it. */
export class DependencyUnavailableError extends DomainError {
  constructor(what: string) {
    super(
      `${what} is unavailable: the request was not completed, retry shortly`,
      'dependency_unavailable',
      503,
      undefined,
      { 'retry-after': '2' },
    );
  }
}
