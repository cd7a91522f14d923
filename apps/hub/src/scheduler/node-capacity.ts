import type { DriverInfo } from '@hostplane/protocol';
import type { CapacityOverrides, NodeStatus } from '../nodes/node.entity';
import type { PlacementNode, PlacementResources } from './placement';

/**
 * What is already reserved on each node: the summed resources of the instances placed on (or
 * migrating to) each node. Provided by the instances domain under `NODE_ALLOCATIONS`.
 */
export interface NodeAllocations {
  allocatedOn(orgId: string, nodeIds: readonly string[]): Promise<ReadonlyMap<string, PlacementResources>>;
}

export const NODE_ALLOCATIONS = Symbol('NodeAllocations');

/** The columns the planner reads from `nodes` (only the inventory parts it needs, not processes and users). */
export interface NodeCapacityRow {
  id: string;
  name: string;
  status: NodeStatus;
  schedulable: boolean;
  drivers: DriverInfo[];
  labels: Record<string, string>;
  capacity: CapacityOverrides;
  inv_cpu: number | null;
  inv_mem: number | null;
  inv_disks: { mount: string; size_bytes: number }[] | null;
  /** Free allocations in the node's pool. */
  free_ports?: number | string | null;
}

const ZERO: PlacementResources = { cpu_cores: 0, memory_bytes: 0, disk_bytes: 0 };

/**
 * Capacity = the node's overrides (PUT /v1/nodes/{id} capacity), else what its inventory
 * reports: cores, total memory, and the size of the root filesystem (the largest one when the
 * agent reported no "/"). A node that reported nothing has zero capacity and is explained so.
 */
export function capacityOf(row: NodeCapacityRow): PlacementResources {
  const disks = row.inv_disks ?? [];
  const root =
    disks.find((d) => d.mount === '/') ??
    disks.reduce<{ size_bytes: number } | undefined>((a, d) => (!a || d.size_bytes > a.size_bytes ? d : a), undefined);
  return {
    cpu_cores: row.capacity.cpu_cores ?? Number(row.inv_cpu ?? 0),
    memory_bytes: row.capacity.memory_bytes ?? Number(row.inv_mem ?? 0),
    disk_bytes: row.capacity.disk_bytes ?? Number(root?.size_bytes ?? 0),
  };
}

export function toPlacementNode(row: NodeCapacityRow, allocated: PlacementResources | undefined): PlacementNode {
  return {
    id: row.id,
    status: row.status,
    schedulable: row.schedulable,
    drivers: row.drivers ?? [],
    labels: row.labels ?? {},
    capacity: capacityOf(row),
    allocated: allocated ?? ZERO,
    ...(row.free_ports !== undefined && row.free_ports !== null ? { free_ports: Number(row.free_ports) } : {}),
  };
}
