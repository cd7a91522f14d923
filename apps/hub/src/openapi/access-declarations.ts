import type { DiscoveryService } from '@nestjs/core';
import { ACCESS_RULE, AccessRule } from '../access/access.decorators';
import { discoverRoutes } from '../http/route-discovery';
import { API_DOC, ApiDocOptions } from './api-doc';

/**
 * Every route declares its access rule, and a route documented as public in OpenAPI is the
 * same route the guard lets through without credentials. Checked at boot: a forgotten
 * decorator stops the hub instead of opening or closing a route by accident.
 */
export function checkAccessDeclarations(discovery: DiscoveryService): void {
  const problems: string[] = [];
  for (const r of discoverRoutes(discovery)) {
    const rule = (Reflect.getMetadata(ACCESS_RULE, r.handler) ?? Reflect.getMetadata(ACCESS_RULE, r.controller)) as
      AccessRule | undefined;
    const doc = Reflect.getMetadata(API_DOC, r.handler) as ApiDocOptions | undefined;
    const where = `${r.method} ${r.path} (${r.controller.name}.${r.name})`;
    if (!rule)
      problems.push(
        `${where} has no access rule: add @Public(), @Authenticated(), @RequirePermission(…) or @PlatformAdmin()`,
      );
    else if ((rule.kind === 'public') !== (doc?.public === true)) {
      problems.push(`${where}: @ApiDoc public=${doc?.public === true} disagrees with its access rule '${rule.kind}'`);
    }
  }
  if (problems.length) throw new Error(`access declarations:\n  ${problems.join('\n  ')}`);
}
