import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { catalogEntry } from './error-catalog';
import { DependencyUnavailableError, DomainError } from './errors';

export interface ErrorBody {
  error: string;
  code: string;
  [extra: string]: unknown;
}

interface Mapped {
  status: number;
  body: ErrorBody;
  headers?: Record<string, string>;
}

/** Fastify's own errors (body parsing, size limits, media types) by their code. */
export const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'invalid_json',
    message: 'request body is empty but Content-Type is JSON',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'payload_too_large',
    message: 'request body is larger than the limit',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'unsupported Content-Type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'invalid_content_length',
    message: 'Content-Length does not match the body',
  },
};

export const HTTP_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  503: 'unavailable',
};

// What ioredis rejects a command with while Redis is unreachable (bounded by the Redis layer's
// command timeouts and offline-queue policy), so a write answers 503 instead of hanging.
const REDIS_DOWN =
  /^(Command timed out|Stream isn't writeable and enableOfflineQueue options is false|Connection is closed\.|Reached the max retries per request limit)/;

function isRedisDown(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown } | null;
  return e?.name === 'MaxRetriesPerRequestError' || (typeof e?.message === 'string' && REDIS_DOWN.test(e.message));
}

export function mapError(err: unknown, req?: FastifyRequest): Mapped {
  if (isRedisDown(err)) err = new DependencyUnavailableError('Redis');
  if (err instanceof DomainError) {
    return { status: err.status, body: { error: err.message, code: err.code, ...err.details }, headers: err.headers };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status === 404 && req) {
      return { status, body: { error: `no route for ${req.method} ${req.url.split('?')[0]}`, code: 'not_found' } };
    }
    return {
      status,
      body: { error: err.message, code: HTTP_CODES[status] ?? (status < 500 ? 'bad_request' : 'internal_error') },
    };
  }
  const fastifyCode = (err as { code?: unknown })?.code;
  if (typeof fastifyCode === 'string' && FASTIFY_ERRORS[fastifyCode]) {
    const known = FASTIFY_ERRORS[fastifyCode];
    return { status: known.status, body: { error: known.message, code: known.code } };
  }
  // JSON.parse errors surfaced by the content-type parser carry statusCode 400.
  const statusCode = (err as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      body: { error: (err as Error).message, code: HTTP_CODES[statusCode] ?? 'bad_request' },
    };
  }
  return { status: 500, body: { error: 'internal error', code: 'internal_error' } };
}

export function sendError(reply: FastifyReply, mapped: Mapped): void {
  if (mapped.headers) for (const [k, v] of Object.entries(mapped.headers)) reply.header(k, v);
  void reply.status(mapped.status).type('application/json; charset=utf-8').send(mapped.body);
}

/** The one place where errors become HTTP answers. */
@Catch()
export class EnvelopeExceptionFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const mapped = mapError(err, req);
    if (mapped.status >= 500) this.log.error({ err, reqId: req.id }, 'request failed');
    if (!catalogEntry(mapped.body.code)) {
      // A code passed through from an agent (or a new one) that no *.errors.ts declares: clients
      // and the API docs do not know it. The error-catalog test scans for the literal ones.
      this.log.error(
        { code: mapped.body.code, status: mapped.status, reqId: req.id },
        'error code is not in any error catalog',
      );
    }
    sendError(reply, mapped);
  }
}
