import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the access guard when it refused the request (the audit hook records 'denied'). */
    accessDenied?: boolean;
  }
}

export function markDenied(req: FastifyRequest): void {
  req.accessDenied = true;
}

export function wasDenied(req: FastifyRequest): boolean {
  return req.accessDenied === true;
}
