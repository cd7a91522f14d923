import type { Inventory } from '@hostplane/protocol';
import { JobHandlerRegistry } from './handler-registry';
import { createInventoryRefreshHandler } from './handlers/inventory-refresh';
import { createProcessKillHandler } from './handlers/process-kill';
import { createSelftestHandler } from './handlers/selftest';

export interface JobHandlerDeps {
  stateDir: string;
  refreshInventory: () => Promise<Inventory>;
}

/** The handler of every job kind this agent runs; drivers add theirs here as they arrive. */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlerRegistry {
  return {
    'agent.selftest': createSelftestHandler(deps.stateDir),
    'node.process.kill': createProcessKillHandler(),
    'node.inventory.refresh': createInventoryRefreshHandler(deps.refreshInventory),
  };
}
