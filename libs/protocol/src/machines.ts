import { z } from 'zod';

/**
 * Parallels Desktop virtual machines: what a `parallels` instance needs besides the common
 * instance spec, and the names that reach `prlctl` (checked again on the agent before any
 * command runs). A VM is named by its UUID (with or without braces, as prlctl prints it) or by
 * its name: letters, digits, space, '_', '.', '-', never starting with '-' (no option injection).
 */
export const MACHINE_UUID_PATTERN = /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;
export const MACHINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,98}[A-Za-z0-9_.-]$|^[A-Za-z0-9]$/;
/** A macOS user owning VMs (`sudo -u <owner>` when the agent runs as root). */
export const MACHINE_OWNER_PATTERN = /^[a-z_][a-z0-9_.-]{0,31}$/;

export const machineRef = z.string().refine((v) => MACHINE_UUID_PATTERN.test(v) || MACHINE_NAME_PATTERN.test(v), {
  message: "a VM is named by its UUID or by letters, digits, space, '_', '.', '-' (not starting with '-')",
});

export const machineNetworkType = z.enum(['shared', 'bridged', 'host-only']);

export const parallelsInstanceConfig = z
  .object({
    /**
     * Where the VM comes from: an existing VM or template on the host, cloned for the instance.
     * `catalog` (an image from a catalog) is reserved: the hub refuses it until catalogs exist.
     */
    source: z.union([
      z.object({ vm: machineRef, linked: z.boolean().default(false) }).strict(),
      z
        .object({
          catalog: z
            .object({ id: z.string().min(1).max(128), version: z.string().max(64).optional() })
            .strict(),
        })
        .strict(),
    ]),
    cpus: z.number().int().min(1).max(128).optional(),
    /** Guest memory in MiB; the instance's memory_bytes when absent. */
    memory_mb: z.number().int().min(256).max(1_048_576).optional(),
    /** Grows the boot disk (hdd0) to this many MiB; never shrinks it. */
    disk_mb: z.number().int().min(1024).max(16_777_216).optional(),
    network: z.object({ type: machineNetworkType }).strict().optional(),
    /** The macOS user owning the VM; the agent's configured owner when absent. */
    owner: z.string().regex(MACHINE_OWNER_PATTERN, { message: 'a macOS user name' }).optional(),
  })
  .strict();
export type ParallelsInstanceConfig = z.infer<typeof parallelsInstanceConfig>;

export const MACHINE_STATES = [
  'stopped',
  'starting',
  'running',
  'paused',
  'suspended',
  'suspending',
  'resuming',
  'stopping',
  'pausing',
  'restoring',
  'unknown',
] as const;
export const machineState = z.enum(MACHINE_STATES);
export type MachineState = z.infer<typeof machineState>;

/** A VM as the agent reports it (from `prlctl list -a -i --json`). */
export const machine = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  state: machineState,
  os: z.string(),
  template: z.boolean(),
  uptime_seconds: z.number().int().min(0),
  home: z.string(),
  cpus: z.number().int().min(0),
  memory_bytes: z.number().int().min(0),
  disk_bytes: z.number().int().min(0),
  boot_order: z.string(),
  guest_tools: z.object({ state: z.string(), version: z.string().nullable() }),
  network: z.object({ type: z.string(), mac: z.string(), ip_addresses: z.array(z.string()) }),
});
export type Machine = z.infer<typeof machine>;

export const machineSnapshot = z.object({
  id: z.string(),
  name: z.string(),
  date: z.string(),
  state: z.string(),
  current: z.boolean(),
  parent: z.string().nullable(),
});
export type MachineSnapshot = z.infer<typeof machineSnapshot>;
