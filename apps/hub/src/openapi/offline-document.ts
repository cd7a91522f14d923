import 'reflect-metadata';
import { MODULE_METADATA } from '@nestjs/common/constants';
import { HUB_MODULES } from '../app.module';
// Routes document their error codes from the catalogs, which register when imported.
import '../error-catalogs';
import { HUB_VERSION } from '../version';
import { buildOpenApiDocument, collectRoutes } from './openapi.builder';

type ModuleRef = Function | { module: Function; controllers?: Function[]; imports?: unknown[] } | Promise<unknown>;

/** The controllers of a module graph, read from Nest's decorator metadata without instantiating anything. */
export function controllersOf(roots: readonly ModuleRef[]): Function[] {
  const seen = new Set<Function>();
  const controllers = new Set<Function>();
  const visit = (ref: ModuleRef | undefined): void => {
    if (!ref || ref instanceof Promise) return;
    const moduleClass = typeof ref === 'function' ? ref : ref.module;
    if (typeof ref !== 'function') {
      for (const c of ref.controllers ?? []) controllers.add(c);
      for (const i of ref.imports ?? []) visit(i as ModuleRef);
    }
    if (seen.has(moduleClass)) return;
    seen.add(moduleClass);
    const own = (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, moduleClass) ?? []) as Function[];
    for (const c of own) controllers.add(c);
    for (const i of (Reflect.getMetadata(MODULE_METADATA.IMPORTS, moduleClass) ?? []) as ModuleRef[]) visit(i);
  };
  roots.forEach(visit);
  return [...controllers];
}

/**
 * The OpenAPI document the hub serves, built from its modules' metadata with no database, Redis
 * or configuration: the SDK is generated from it (`npm run sdk:generate`). Only `servers` differs
 * from a running hub's, which names its own public URL.
 */
export function buildOfflineOpenApiDocument(serverUrl = 'http://localhost:8080'): Record<string, unknown> {
  const document = buildOpenApiDocument(collectRoutes(controllersOf(HUB_MODULES)), { version: HUB_VERSION, serverUrl });
  // Sorted so the generated SDK does not change with the order modules are listed in.
  const paths = document.paths as Record<string, unknown>;
  document.paths = Object.fromEntries(
    Object.keys(paths)
      .sort()
      .map((p) => [p, paths[p]]),
  );
  return document;
}
