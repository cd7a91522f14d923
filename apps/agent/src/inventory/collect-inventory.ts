import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Inventory, ParallelsInventory } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { collectContainers } from './containers';
import type { IllumosInventoryCollector } from './illumos';
import { collectDisks } from './disks';
import { collectNetwork } from './network';
import { collectProcesses } from './processes';
import { collectSystem } from './system';
import { collectUsers, UserInventory } from './users';

export interface InventoryOptions {
  dockerSocket: string;
  log: AgentLogger;
  /** The agent's state directory: its `backups/<instance>/<backup>.tar.gz` are listed. */
  stateDir?: string;
  /** Zones, VNICs, datasets and pools, where the zone driver is on. */
  illumos?: IllumosInventoryCollector | null;
  /** The Parallels host, licence and VMs, where the parallels driver is on. */
  parallels?: (() => Promise<ParallelsInventory>) | null;
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
  const [system, disks, processes, containers, illumos, parallels] = await Promise.all([
    collectSystem(),
    section('disks', collectDisks, []),
    section('processes', () => collectProcesses(userNames), []),
    collectContainers(options.dockerSocket),
    options.illumos ? section('illumos', () => options.illumos!.collect(), undefined) : undefined,
    options.parallels ? section('parallels', options.parallels, undefined) : undefined,
  ]);
  const backups = options.stateDir
    ? await section('backups', () => Promise.resolve(listBackupArchives(options.stateDir!)), [])
    : undefined;
  return {
    collected_at: new Date().toISOString(),
    system,
    network: collectNetwork(),
    disks,
    users,
    processes,
    containers,
    ...(backups ? { backups } : {}),
    ...(illumos ? { illumos } : {}),
    ...(parallels ? { parallels } : {}),
  };
}

/** `<stateDir>/backups/<instance>/<backup>.tar.gz`: the archives this host keeps. */
export function listBackupArchives(stateDir: string): NonNullable<Inventory['backups']> {
  const base = join(stateDir, 'backups');
  if (!existsSync(base)) return [];
  const out: NonNullable<Inventory['backups']> = [];
  for (const instance of readdirSync(base, { withFileTypes: true })) {
    if (!instance.isDirectory()) continue;
    for (const f of readdirSync(join(base, instance.name), { withFileTypes: true })) {
      if (!f.isFile() || !f.name.endsWith('.tar.gz')) continue;
      out.push({
        instance_id: instance.name,
        backup_id: f.name.slice(0, -'.tar.gz'.length),
        size_bytes: statSync(join(base, instance.name, f.name)).size,
      });
    }
  }
  return out;
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
    backups: inv.backups?.map((b) => b.backup_id).sort() ?? null,
    // Space used moves all the time: only what a dataset or pool is, not how full it is.
    illumos: inv.illumos
      ? {
          zones: inv.illumos.zones,
          vnics: inv.illumos.vnics,
          datasets: inv.illumos.datasets.map((d) => [d.name, d.type, d.mountpoint, d.origin]),
          pools: inv.illumos.pools.map((p) => [p.name, p.health, p.size]),
        }
      : null,
    // Free disk moves all the time; VMs' states and sizes are what resources and placement read.
    parallels: inv.parallels
      ? {
          license: inv.parallels.license,
          hardware: { ...inv.parallels.hardware, disk_free_bytes: null },
          machines: inv.parallels.machines,
          users: inv.parallels.users,
        }
      : null,
  };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}
