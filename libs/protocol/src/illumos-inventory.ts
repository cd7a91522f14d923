import { z } from 'zod';

/**
 * How much of an illumos host the periodic inventory carries: enough for the usual lists, small
 * enough that a frame stays well under the tunnel's 8 MB message limit (the section is ~430 KB at
 * the caps, measured with realistic names). Past a cap the list is cut and `truncated` names it;
 * `?live=true` reads the whole list from the host.
 */
export const ILLUMOS_INVENTORY_CAPS = { zones: 500, vnics: 1000, datasets: 1000, pools: 64 } as const;
export type IllumosInventoryList = keyof typeof ILLUMOS_INVENTORY_CAPS;

/** `zoneadm list -c -p` with the cheap parts of each zone's configuration. */
export const inventoryZone = z.object({
  id: z.number().int().nullable(),
  name: z.string().max(64),
  state: z.string().max(32),
  zonepath: z.string().max(1024),
  uuid: z.string().max(64).nullable(),
  brand: z.string().max(64),
  ip_type: z.string().max(32),
  /** bhyve `attr ram` or a native zone's `capped-memory physical` (`2G`); null when unset or not read yet. */
  ram: z.string().max(32).nullable(),
  vcpus: z.number().int().nonnegative().nullable(),
  autoboot: z.boolean().nullable(),
  /** The zone's `net` resources' physical links. */
  nets: z.array(z.string().max(64)).max(64),
});
export type InventoryZone = z.infer<typeof inventoryZone>;

const n = z.number().nullable();
export const inventoryVnic = z.object({
  link: z.string().max(64),
  over: z.string().max(64).nullable(),
  speed_mbps: n,
  mac_address: z.string().max(64).nullable(),
  mac_type: z.string().max(32).nullable(),
  vlan_id: n,
  zone: z.string().max(64).nullable(),
});

export const inventoryDataset = z.object({
  name: z.string().max(1024),
  type: z.string().max(32),
  used: n,
  available: n,
  referenced: n,
  mountpoint: z.string().max(1024).nullable(),
  origin: z.string().max(1024).nullable(),
});

export const inventoryPool = z.object({
  name: z.string().max(256),
  size: n,
  allocated: n,
  free: n,
  fragmentation_percent: n,
  capacity_percent: n,
  dedup_ratio: n,
  health: z.string().max(32),
  altroot: z.string().max(1024).nullable(),
});

/** The illumos part of a node's inventory: present only where the zone driver is on and answers. */
export const illumosInventory = z.object({
  zones: z.array(inventoryZone).max(ILLUMOS_INVENTORY_CAPS.zones),
  vnics: z.array(inventoryVnic).max(ILLUMOS_INVENTORY_CAPS.vnics),
  datasets: z.array(inventoryDataset).max(ILLUMOS_INVENTORY_CAPS.datasets),
  pools: z.array(inventoryPool).max(ILLUMOS_INVENTORY_CAPS.pools),
  /** The lists cut at their cap. */
  truncated: z.array(z.enum(['zones', 'vnics', 'datasets', 'pools'])).max(4),
});
export type IllumosInventory = z.infer<typeof illumosInventory>;
