import type { Inventory } from '@hostplane/protocol';
import { createInstanceManager } from '../instances/create-instances';
import type { InstanceManager } from '../instances/instance-manager';
import { JobHandlerRegistry } from './handler-registry';
import { createInstanceHandlers } from './handlers/instances';
import { createInventoryRefreshHandler } from './handlers/inventory-refresh';
import { createProcessKillHandler } from './handlers/process-kill';
import { createSelftestHandler } from './handlers/selftest';

export interface JobHandlerDeps {
  stateDir: string;
  refreshInventory: () => Promise<Inventory>;
  /** The instance drivers; by default those of `stateDir` with no Docker engine reachable. */
  instances?: InstanceManager;
}

/** The handler of every job kind this agent runs; drivers add theirs here as they arrive. */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlerRegistry {
  return {
    'agent.selftest': createSelftestHandler(deps.stateDir),
    'node.process.kill': createProcessKillHandler(),
    'node.inventory.refresh': createInventoryRefreshHandler(deps.refreshInventory),
    ...createInstanceHandlers(deps.instances ?? createInstanceManager({ stateDir: deps.stateDir, dockerSocket: '/nonexistent/docker.sock' })),
  };
}
