import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';

const HOOKS = ['onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown'] as const;

/**
 * Wraps every provider's and controller's shutdown hooks so that a close that does not finish can
 * name what it is waiting for ("JobQueues.onApplicationShutdown"), instead of just hanging.
 * Returns a function listing the hooks that started and have not yet settled.
 */
export function traceShutdownHooks(app: INestApplication): () => string[] {
  const pending = new Map<number, string>();
  let next = 0;
  const seen = new Set<object>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of [...module.providers.values(), ...module.controllers.values()]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      seen.add(instance);
      for (const hook of HOOKS) {
        const original = instance[hook];
        if (typeof original !== 'function') continue;
        const name = `${instance.constructor?.name ?? String(wrapper.name)}.${hook}`;
        instance[hook] = async (...args: unknown[]) => {
          const id = next++;
          pending.set(id, name);
          try {
            return await (original as (...a: unknown[]) => unknown).apply(instance, args);
          } finally {
            pending.delete(id);
          }
        };
      }
    }
  }
  return () => [...pending.values()];
}
