import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface ApiDocOptions {
  summary: string;
  description?: string;
  tags: string[];
  responses: Record<number, ResponseDoc>;
  /**
   * The error codes this route may answer with beyond the ones every route has (validation,
   * credentials, rate limits): each is declared in a domain's `*.errors.ts` catalog, which gives
   * its status and meaning for the document.
   */
  errors?: readonly string[];
  /** Routes reachable without credentials. */
  public?: boolean;
  /** WebSocket routes are documented as GET with an Upgrade note. */
  websocket?: boolean;
  /**
   * Why this POST/PUT/PATCH/DELETE refuses `Idempotency-Key` (400): its body is a stream that
   * cannot be fingerprinted or replayed. Every other authenticated one of them honours the header.
   */
  idempotencyRefused?: string;
}

export const API_DOC = 'hostplane:api-doc';
/** Declares what a route does and returns; request schemas come from its `@Valid*` parameters. */
export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a route honours `Idempotency-Key`: every POST, PUT, PATCH and DELETE that has a caller
 * to scope the key to (not public) and does not declare `idempotencyRefused`. One rule for the
 * interceptor that applies it and the OpenAPI document that announces it.
 */
export function honoursIdempotencyKey(method: string, doc: ApiDocOptions | undefined): boolean {
  return UNSAFE_METHODS.has(method.toUpperCase()) && doc?.public !== true && doc?.idempotencyRefused === undefined;
}

export function isUnsafeMethod(method: string): boolean {
  return UNSAFE_METHODS.has(method.toUpperCase());
}
