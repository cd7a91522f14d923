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
  /** Routes reachable without credentials. */
  public?: boolean;
  /** WebSocket routes are documented as GET with an Upgrade note. */
  websocket?: boolean;
}

export const API_DOC = 'hostplane:api-doc';
export const API_SCHEMAS = 'hostplane:api-schemas';

export type RouteSchemas = Partial<Record<'body' | 'query' | 'params', z.ZodType>>;

/** Declares what a route does and returns; request schemas come from its `@Valid*` parameters. */
export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);

export function recordRouteSchema(target: object, key: string | symbol, where: keyof RouteSchemas, schema: z.ZodType): void {
  const method = (target as Record<string | symbol, object>)[key] as object;
  const existing = (Reflect.getMetadata(API_SCHEMAS, method) as RouteSchemas | undefined) ?? {};
  Reflect.defineMetadata(API_SCHEMAS, { ...existing, [where]: schema }, method);
}
