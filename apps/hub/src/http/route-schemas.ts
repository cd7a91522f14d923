import type { z } from 'zod';

/** The request schemas a route's `@Valid*` parameters declare, for the OpenAPI document. */
export const API_SCHEMAS = 'hostplane:api-schemas';

export type RouteSchemas = Partial<Record<'body' | 'query' | 'params', z.ZodType>>;

export function recordRouteSchema(
  target: object,
  key: string | symbol,
  where: keyof RouteSchemas,
  schema: z.ZodType,
): void {
  const method = (target as Record<string | symbol, object>)[key] as object;
  const existing = (Reflect.getMetadata(API_SCHEMAS, method) as RouteSchemas | undefined) ?? {};
  Reflect.defineMetadata(API_SCHEMAS, { ...existing, [where]: schema }, method);
}
