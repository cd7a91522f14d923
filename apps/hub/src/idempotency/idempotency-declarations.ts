import { RESPONSE_PASSTHROUGH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import type { DiscoveryService } from '@nestjs/core';
import { discoverRoutes } from '../http/route-discovery';
import { API_DOC, ApiDocOptions, honoursIdempotencyKey } from '../openapi/api-doc';

const OWN_REPLY = new Set<number>([RouteParamtypes.RESPONSE, RouteParamtypes.NEXT]);

/**
 * A route that sends its own answer (`@Res()` without passthrough) would leave a replayed answer
 * unsent: the interceptor hands the kept body to Nest, which sends only for routes it answers.
 * Checked at boot, like access declarations, so such a route is fixed or refuses keys explicitly.
 */
export function checkIdempotencyDeclarations(discovery: DiscoveryService): void {
  const problems: string[] = [];
  for (const r of discoverRoutes(discovery)) {
    if (!honoursIdempotencyKey(r.method, Reflect.getMetadata(API_DOC, r.handler) as ApiDocOptions | undefined))
      continue;
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, r.controller, r.name) ?? {}) as Record<string, unknown>;
    const ownsReply = Object.keys(args).some((k) => OWN_REPLY.has(Number(k.split(':')[0])));
    const passthrough = Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, r.controller, r.name) === true;
    if (ownsReply && !passthrough) {
      problems.push(
        `${r.method} ${r.path} (${r.controller.name}.${r.name}) sends its own reply: use @Res({ passthrough: true }) or declare @ApiDoc({ idempotencyRefused: '<why>' })`,
      );
    }
  }
  if (problems.length) throw new Error(`Idempotency-Key declarations:\n  ${problems.join('\n  ')}`);
}
