import { z } from 'zod';
import { illumosInventory } from './illumos-inventory';
import { parallelsInventory } from './parallels-inventory';

export const systemInventory = z.object({
  hostname: z.string(),
  os: z.string(),
  platform: z.string(),
  release: z.string(),
  kernel: z.string(),
  arch: z.string(),
  cpu_model: z.string(),
  cpu_cores: z.number().int().nonnegative(),
  memory_total_bytes: z.number().nonnegative(),
  uptime_seconds: z.number().nonnegative(),
});

export const networkInterface = z.object({
  name: z.string(),
  mac: z.string().nullable(),
  internal: z.boolean(),
  addresses: z.array(z.object({ address: z.string(), family: z.enum(['IPv4', 'IPv6']), cidr: z.string().nullable() })),
});

export const diskInventory = z.object({
  filesystem: z.string(),
  mount: z.string(),
  type: z.string(),
  size_bytes: z.number().nonnegative(),
  used_bytes: z.number().nonnegative(),
  available_bytes: z.number().nonnegative(),
});

export const userInventory = z.object({
  name: z.string(),
  uid: z.number().int(),
  gid: z.number().int(),
  home: z.string(),
  shell: z.string(),
});

export const processInventory = z.object({
  pid: z.number().int().positive(),
  ppid: z.number().int().nonnegative(),
  user: z.string(),
  name: z.string(),
  command: z.string(),
  state: z.string(),
  cpu_percent: z.number().nonnegative(),
  memory_bytes: z.number().nonnegative(),
});

export const containerInventory = z.object({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  state: z.string(),
  status: z.string(),
  created_at: z.string(),
});

export const INVENTORY_SECTIONS = ['system', 'network', 'disks', 'users', 'processes', 'containers'] as const;
export type InventorySection = (typeof INVENTORY_SECTIONS)[number];

export const inventory = z.object({
  collected_at: z.string(),
  system: systemInventory,
  network: z.array(networkInterface),
  disks: z.array(diskInventory),
  users: z.array(userInventory),
  processes: z.array(processInventory),
  /** null when no container engine is reachable on the host. */
  containers: z.array(containerInventory).nullable(),
  /** Backup archives kept on the host (absent from older agents): the hub reconciles its backup rows with it. */
  backups: z
    .array(
      z.object({
        instance_id: z.string().max(64),
        backup_id: z.string().max(128),
        size_bytes: z.number().int().nonnegative(),
      }),
    )
    .max(100_000)
    .optional(),
  /** Zones, VNICs, datasets and pools of an illumos node (absent elsewhere and from older agents). */
  illumos: illumosInventory.optional(),
  /** Parallels Desktop host, licence and VMs of a macOS node (absent elsewhere and from older agents). */
  parallels: parallelsInventory.optional(),
});
export type Inventory = z.infer<typeof inventory>;

/** One heartbeat's sample. Network counters are cumulative since boot; the hub derives rates. */
export const metricsSample = z.object({
  ts: z.string(),
  cpu_percent: z.number().min(0).max(100),
  memory_used_bytes: z.number().nonnegative(),
  memory_total_bytes: z.number().nonnegative(),
  disk_used_bytes: z.number().nonnegative(),
  disk_total_bytes: z.number().nonnegative(),
  net_rx_bytes: z.number().nonnegative(),
  net_tx_bytes: z.number().nonnegative(),
  /** Bytes read from and written to whole disks since boot; agents before these fields send none. */
  disk_read_bytes: z.number().nonnegative().default(0),
  disk_written_bytes: z.number().nonnegative().default(0),
  load1: z.number().nonnegative(),
  load5: z.number().nonnegative(),
  load15: z.number().nonnegative(),
});
export type MetricsSample = z.infer<typeof metricsSample>;
