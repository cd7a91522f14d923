import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { wasDenied } from '../access/access-denial';
import type { AuditOutcome } from './audit-log.entity';
import type { AuditedRoute } from './audit-note';
import type { AuditService } from './audit.service';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  return status === 401 || status === 403 || status === 429 ? 'denied' : 'failure';
}

/**
 * One audit row per mutating request that matched a route, written after the response is sent:
 * the caller (from the access guard's principal, or the note of a public route such as login),
 * the organization, the route's action and target, the outcome from the status code.
 */
export function registerAuditHook(
  app: FastifyInstance,
  audit: AuditService,
  routeAction: (method: string, path: string) => AuditedRoute | undefined,
): void {
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const route = req.routeOptions.url;
    if (!MUTATING.has(req.method) || !route) return;
    const declared = routeAction(req.method, route);
    const note = req.auditNote ?? {};
    const p = req.principal;
    const params = (req.params ?? {}) as Record<string, unknown>;
    const paramTarget = declared?.param ? params[declared.param] : undefined;
    await audit.record({
      actorType: p ? p.kind : note.actorId ? 'user' : 'anonymous',
      actorId: p?.userId ?? note.actorId ?? null,
      actorEmail: p?.email ?? note.actorEmail ?? null,
      apiTokenId: p?.apiTokenId ?? null,
      orgId: note.orgId ?? p?.org?.id ?? null,
      action: declared?.action ?? `${req.method.toLowerCase()} ${route}`,
      targetType: note.targetType ?? declared?.target ?? null,
      targetId: note.targetId ?? (typeof paramTarget === 'string' && declared?.param !== 'token' ? paramTarget : null),
      ip: req.ip,
      userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 512) : null,
      outcome: note.outcome ?? (wasDenied(req) ? 'denied' : outcomeOf(reply.statusCode)),
      statusCode: reply.statusCode,
      requestId: String(req.id),
      details: note.details ?? null,
    });
  });
}
