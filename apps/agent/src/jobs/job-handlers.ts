import type { Inventory } from '@hostplane/protocol';
import { ContainerControl } from '../containers/container-control';
import { createFileServices, FileServices } from '../transfers/file-services';
import { createInstanceManager } from '../drivers/create-instance-manager';
import type { InstanceManager } from '../instances/instance-manager';
import { JobHandlerRegistry } from './handler-registry';
import { createBackupHandlers } from './handlers/backups';
import { createContainerHandlers } from './handlers/containers';
import { createFileHandlers } from './handlers/files';
import { createHostOperationHandler } from './handlers/host-operations';
import type { HostExec } from '../illumos/host-exec';
import type { PrlHost } from '../parallels/prl-host';
import { createInstanceHandlers } from './handlers/instances';
import { createInventoryRefreshHandler } from './handlers/inventory-refresh';
import { createProcessKillHandler } from './handlers/process-kill';
import { createSelftestHandler } from './handlers/selftest';
import { createReverseProxyHandler } from './handlers/reverse-proxy';
import { ReverseProxy } from '../reverse-proxy/reverse-proxy';
import { VmAddressBook } from '../reverse-proxy/vm-addresses';

export interface JobHandlerDeps {
  stateDir: string;
  refreshInventory: () => Promise<Inventory>;
  /** The instance drivers; by default those of `stateDir` with no Docker engine reachable. */
  instances?: InstanceManager;
  /** Instance files, uploads and backups; by default those of `stateDir`. */
  files?: FileServices;
  /** Host containers; by default none reachable. */
  containers?: ContainerControl;
  /** The illumos exec (zone settings); null or absent where host operations are off. */
  illumos?: HostExec | null;
  /** Told after a host write succeeds (the inventory's illumos lists are then stale). */
  hostChanged?: () => void;
  /** The Parallels tools (parallels settings); null or absent where machines are off. */
  parallels?: PrlHost | null;
  /** The node's reverse proxy; by default one of `stateDir` that resolves VMs through `parallels`. */
  reverseProxy?: ReverseProxy;
}

/** The handler of every job kind this agent runs; drivers add theirs here as they arrive. */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlerRegistry {
  const instances =
    deps.instances ?? createInstanceManager({ stateDir: deps.stateDir, dockerSocket: '/nonexistent/docker.sock' });
  const files = deps.files ?? createFileServices(deps.stateDir, instances.store);
  const removeInstanceLeftovers = (id: string) => {
    files.backups.removeAll(id);
    files.uploads.removeAll(id);
  };
  return {
    'agent.selftest': createSelftestHandler(deps.stateDir),
    'node.process.kill': createProcessKillHandler(),
    'node.inventory.refresh': createInventoryRefreshHandler(deps.refreshInventory),
    ...createInstanceHandlers(instances, { deleted: removeInstanceLeftovers }),
    ...createFileHandlers(files.files, files.uploads),
    ...createBackupHandlers(files.backups, instances),
    ...createContainerHandlers(deps.containers ?? new ContainerControl('/nonexistent/docker.sock')),
    'host.operation': createHostOperationHandler(deps.illumos ?? null, deps.parallels ?? null, deps.hostChanged),
    'reverse_proxy.apply': createReverseProxyHandler(
      deps.reverseProxy ??
        new ReverseProxy(
          deps.stateDir,
          new VmAddressBook({ list: deps.parallels ? () => deps.parallels!.machines() : null }),
        ),
    ),
  };
}
