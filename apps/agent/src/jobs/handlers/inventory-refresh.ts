import type { Inventory } from '@hostplane/protocol';
import { JobHandler } from '../handler-registry';

/** Collects the inventory and sends it to the hub now, outside the periodic change check. */
export function createInventoryRefreshHandler(
  refreshInventory: () => Promise<Inventory>,
): JobHandler<'node.inventory.refresh'> {
  return async () => {
    const inventory = await refreshInventory();
    return { collected_at: inventory.collected_at };
  };
}
