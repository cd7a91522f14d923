import { createHash } from 'node:crypto';
import type { Inventory } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { collectContainers } from './containers';
import { collectDisks } from './disks';
import { collectNetwork } from './network';
import { collectProcesses } from './processes';
import { collectSystem } from './system';
import { collectUsers, UserInventory } from './users';

export interface InventoryOptions {
  dockerSocket: string;
  log: AgentLogger;
}

/** A full inventory. A section that cannot be read is logged and sent empty rather than failing the rest. */
export async function collectInventory(options: InventoryOptions): Promise<Inventory> {
  const section = async <T>(name: string, collect: () => Promise<T>, empty: T): Promise<T> => {
    try {
      return await collect();
    } catch (err) {
      options.log.warn({ err, section: name }, 'inventory section could not be collected');
      return empty;
    }
  };
  const users = await section<UserInventory[]>('users', () => collectUsers(), []);
  const userNames = new Map(users.map((u) => [u.uid, u.name] as const));
  const [system, disks, processes, containers] = await Promise.all([
    collectSystem(),
    section('disks', collectDisks, []),
    section('processes', () => collectProcesses(userNames), []),
    collectContainers(options.dockerSocket),
  ]);
  return { collected_at: new Date().toISOString(), system, network: collectNetwork(), disks, users, processes, containers };
}

/**
 * A digest of what changes rarely and matters for placement. Processes and usage figures move
 * every second; including them would resend the whole inventory on every check.
 */
export function stableInventoryHash(inv: Inventory): string {
  const { uptime_seconds: _uptime, ...system } = inv.system;
  const stable = {
    system,
    network: inv.network,
    disks: inv.disks.map((d) => [d.filesystem, d.mount, d.type, d.size_bytes]),
    users: inv.users,
    containers: inv.containers?.map((c) => [c.id, c.name, c.image, c.state]) ?? null,
  };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}
