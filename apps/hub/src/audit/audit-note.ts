import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuditOutcome } from './audit-log.entity';

/**
 * What a handler (or the service it calls) knows about the audited event that the request line
 * alone does not: who acted on a public route (login), what was created, extra details. The
 * audit hook writes one row per mutating request from it when the response is sent.
 */
export interface AuditNote {
  actorId?: string;
  actorEmail?: string;
  orgId?: string;
  targetType?: string;
  targetId?: string;
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNote?: AuditNote;
  }
}

export function auditNoteOf(req: FastifyRequest): AuditNote {
  req.auditNote ??= {};
  return req.auditNote;
}

/** The request's mutable `AuditNote`, for handlers to add the actor, target or details. */
export const Audit = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuditNote =>
  auditNoteOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

export interface AuditedOptions {
  /** What kind of thing the route acts on (`organization`, `user`, `api_token`, …). */
  target?: string;
  /** The path parameter holding the target's id. */
  param?: string;
}

export const AUDITED = 'hostplane:audited';

export interface AuditedRoute extends AuditedOptions {
  action: string;
}

/**
 * Names the action of a route in the audit log (`org.member.invite`). Every POST/PUT/PATCH/DELETE
 * is audited anyway; a route without it is recorded as `<method> <route pattern>`.
 */
export const Audited = (action: string, options: AuditedOptions = {}) =>
  SetMetadata(AUDITED, { action, ...options } satisfies AuditedRoute);
