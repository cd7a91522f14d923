import type { DrainState } from './node.entity';

/**
 * Capabilities the nodes domain needs from domains above it (which import nodes, so nodes
 * cannot import them). Each is provided under its token by its owner; a missing provider stops
 * the hub at boot (Nest's "can't resolve dependencies" names the token).
 */

/** How many instances stand on a node. Provided by the instances domain. */
export interface NodeOccupancy {
  countOn(nodeId: string): Promise<number>;
}
export const NODE_OCCUPANCY = Symbol('NodeOccupancy');

/**
 * Moves drains forward. Provided by the migrations domain. `advance` runs one pass of the drain
 * loop for the node at once (it also runs periodically); `cancelled` stops the migrations of a
 * cancelled drain that can still be stopped.
 */
export interface DrainDriver {
  advance(nodeId: string): Promise<void>;
  cancelled(orgId: string, nodeId: string, drain: DrainState): Promise<void>;
}
export const DRAIN_DRIVER = Symbol('DrainDriver');
