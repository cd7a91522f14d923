import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { DiscoveryService } from '@nestjs/core';

export interface DiscoveredRoute {
  /** Upper case, as Fastify reports it. */
  method: string;
  /** Fastify's pattern: `/v1/organizations/:orgId`. */
  path: string;
  controller: Function;
  handler: Function;
  name: string;
}

/** Every HTTP route of the app with its handler, for checks and maps built at boot. */
export function discoverRoutes(discovery: DiscoveryService): DiscoveredRoute[] {
  const routes: DiscoveredRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype;
    if (typeof controller !== 'function') continue;
    const bases = list(Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined);
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (paths === undefined || method === undefined) continue;
      for (const b of bases)
        for (const p of list(paths))
          routes.push({ method: RequestMethod[method], path: join(b, p), controller, handler, name });
    }
  }
  return routes;
}

function list(p: string | string[] | undefined): string[] {
  if (p === undefined) return [''];
  return Array.isArray(p) ? p : [p];
}

function join(a: string, b: string): string {
  const joined = `/${a}/${b}`.replace(/\/+/g, '/').replace(/\/$/, '');
  return joined === '' ? '/' : joined;
}
