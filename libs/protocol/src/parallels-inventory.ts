import { z } from 'zod';
import { machineState } from './machines';

/** At most this many VMs are listed per host in the inventory (`truncated` says when more exist). */
export const PARALLELS_INVENTORY_MACHINES_CAP = 2000;

/**
 * The Parallels Desktop licence terms the agent read from `prlsrvctl info --json` (never the key):
 * how many macOS guests may run at once, and the per-VM vCPU/RAM ceilings of the edition. A limit
 * the host does not state is null (not enforced); `macos_vm_limit_source` says where it came from.
 */
export const parallelsLicense = z.object({
  state: z.string(),
  edition: z.string().nullable(),
  expires_at: z.string().nullable(),
  trial: z.boolean(),
  macos_vm_limit: z.number().int().min(0).nullable(),
  macos_vm_limit_source: z.enum(['license', 'agent_config', 'none']),
  cpu_limit_per_vm: z.number().int().min(0).nullable(),
  memory_limit_mb_per_vm: z.number().int().min(0).nullable(),
});
export type ParallelsLicense = z.infer<typeof parallelsLicense>;

/** A Mac's hardware as the parallels driver reads it (`sysctl`, `prlsrvctl info`, the VM home volume). */
export const parallelsHostHardware = z.object({
  /** `arm64` (Apple silicon) or `x86_64` (Intel). */
  arch: z.string(),
  cpu_model: z.string(),
  cpus: z.number().int().min(0),
  memory_bytes: z.number().min(0),
  /** The volume holding the VM home: what new VMs' disks draw on. */
  disk_total_bytes: z.number().min(0),
  disk_free_bytes: z.number().min(0),
  /** Devices of `prlsrvctl info`'s "Hardware info" (disks, partitions, network adapters). */
  devices: z.array(z.object({ id: z.string(), name: z.string(), type: z.string() })).max(256),
});
export type ParallelsHostHardware = z.infer<typeof parallelsHostHardware>;

/** One VM as the inventory keeps it: enough for resources and placement (the live list has the rest). */
export const parallelsInventoryMachine = z.object({
  id: z.string(),
  name: z.string(),
  state: machineState,
  os: z.string(),
  template: z.boolean(),
  cpus: z.number().int().min(0),
  memory_bytes: z.number().min(0),
  disk_bytes: z.number().min(0),
});
export type ParallelsInventoryMachine = z.infer<typeof parallelsInventoryMachine>;

/** The Parallels part of a macOS node's inventory (absent elsewhere and from older agents). */
export const parallelsInventory = z.object({
  hostname: z.string(),
  version: z.string(),
  vm_home: z.string(),
  license: parallelsLicense,
  hardware: parallelsHostHardware,
  machines: z.array(parallelsInventoryMachine).max(PARALLELS_INVENTORY_MACHINES_CAP),
  truncated: z.boolean(),
  /** The users Parallels Desktop knows on the host (`prlsrvctl user list --json`). */
  users: z
    .array(z.object({ name: z.string().max(300), manage_settings: z.string().max(100), vm_home: z.string().max(4096) }))
    .max(1000),
});
export type ParallelsInventory = z.infer<typeof parallelsInventory>;
