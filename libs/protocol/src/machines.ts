import { z } from 'zod';
import { InvalidHostArgument } from './host-names';

/**
 * Parallels Desktop virtual machines: what a `parallels` instance needs besides the common
 * instance spec, and the names that reach `prlctl` (checked again on the agent before any
 * command runs). A VM is named by its UUID (with or without braces, as prlctl prints it) or by
 * its name: letters, digits, space, '_', '.', '-', never starting with '-' (no option injection).
 */
export const MACHINE_UUID_PATTERN =
  /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;
export const MACHINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,98}[A-Za-z0-9_.-]$|^[A-Za-z0-9]$/;
/** A macOS user owning VMs (`sudo -u <owner>` when the agent runs as root). */
export const MACHINE_OWNER_PATTERN = /^[a-z_][a-z0-9_.-]{0,31}$/;

function show(value: unknown): string {
  return JSON.stringify(typeof value === 'string' ? value.slice(0, 80) : value);
}

/** A VM's UUID (braces optional) or name; refused before any command runs otherwise. */
export function checkMachineRef(field: string, value: unknown): string {
  if (typeof value !== 'string' || !(MACHINE_UUID_PATTERN.test(value) || MACHINE_NAME_PATTERN.test(value)))
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: a VM UUID, or a name of letters, digits, space, '_', '.', '-' not starting with '-'`,
    );
  return value;
}

/** A new VM or snapshot name (never a UUID-looking one, so it cannot be mistaken for another VM). */
export function checkMachineName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !MACHINE_NAME_PATTERN.test(value) || MACHINE_UUID_PATTERN.test(value))
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: letters, digits, space, '_', '.', '-', not starting with '-' (at most 100)`,
    );
  return value;
}

export function checkOwner(field: string, value: unknown): string {
  if (typeof value !== 'string' || !MACHINE_OWNER_PATTERN.test(value))
    throw new InvalidHostArgument(field, `${show(value)} is invalid: a macOS user name`);
  return value;
}

/** A snapshot id as prlctl prints it, braces optional. */
export function checkUuid(field: string, value: unknown): string {
  if (typeof value !== 'string' || !MACHINE_UUID_PATTERN.test(value))
    throw new InvalidHostArgument(field, `${show(value)} is invalid: a UUID`);
  return value.replace(/^\{|\}$/g, '');
}

/** Free text for a description: printable, one line, not starting with '-' (it follows an option). */
export function checkText(field: string, value: unknown): string {
  const control =
    typeof value === 'string' && [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (typeof value !== 'string' || value.length > 500 || value.startsWith('-') || control)
    throw new InvalidHostArgument(field, 'must be one line of at most 500 printable characters, not starting with "-"');
  return value;
}

/** `hdd0 cdrom0 net0`: devices in boot order. */
export function checkBootOrder(field: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    !/^(hdd|cdrom|net|fdd|usb)\d{1,2}( (hdd|cdrom|net|fdd|usb)\d{1,2}){0,7}$/.test(value)
  )
    throw new InvalidHostArgument(field, `${show(value)} is invalid: devices such as "hdd0 cdrom0 net0"`);
  return value;
}

/** A guest command as an argv: 1 to 256 arguments, no NUL; it never passes through a shell of ours. */
export function checkArgv(field: string, value: unknown): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    value.length > 256 ||
    !value.every((a) => typeof a === 'string' && a.length <= 8192 && !a.includes('\u0000'))
  )
    throw new InvalidHostArgument(field, 'must be a list of 1 to 256 strings (the command and its arguments)');
  if ((value[0] as string).startsWith('-'))
    throw new InvalidHostArgument(field, 'the command must not start with "-" (it would be read as an option)');
  return value as string[];
}

/** The hub's record of an ephemeral clone, as it rides in the create operation (and is echoed in its result). */
export interface EphemeralRecord {
  ephemeral_id: string;
  node_id: string;
  expires_at: string;
}

export function checkEphemeralRecord(field: string, value: unknown): EphemeralRecord {
  const v = value as Record<string, unknown> | null;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  if (
    v === null ||
    typeof v !== 'object' ||
    Array.isArray(v) ||
    Object.keys(v).length !== 3 ||
    typeof v.ephemeral_id !== 'string' ||
    !uuid.test(v.ephemeral_id) ||
    typeof v.node_id !== 'string' ||
    !uuid.test(v.node_id) ||
    typeof v.expires_at !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(v.expires_at)
  )
    throw new InvalidHostArgument(field, 'must be {ephemeral_id, node_id, expires_at} (two UUIDs and an ISO time)');
  return { ephemeral_id: v.ephemeral_id, node_id: v.node_id, expires_at: v.expires_at };
}

/** The longest guest path an upload takes. */
export const GUEST_PATH_MAX = 1024;

/**
 * A file path in the guest for an upload: absolute, a file (no trailing "/"), no empty, "." or
 * ".." parts, no control characters (NUL included), at most GUEST_PATH_MAX characters. It reaches
 * the guest as one argument of a fixed script, never as part of a command line.
 */
export function checkGuestPath(field: string, value: unknown): string {
  const control =
    typeof value === 'string' && [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (
    typeof value !== 'string' ||
    !value.startsWith('/') ||
    value.length > GUEST_PATH_MAX ||
    control ||
    value
      .split('/')
      .slice(1)
      .some((part) => part === '' || part === '.' || part === '..')
  )
    throw new InvalidHostArgument(
      field,
      `${show(value)} is invalid: an absolute file path in the guest without "." or ".." parts or control characters (at most ${GUEST_PATH_MAX})`,
    );
  return value;
}

/** zod forms of the checks above, for stream parameters (the same rules, the same messages). */
function refinedBy<T>(check: (field: string, value: unknown) => T, field: string) {
  return (value: unknown, ctx: z.RefinementCtx) => {
    try {
      check(field, value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}
export const guestPath = z.string().superRefine(refinedBy(checkGuestPath, 'path'));
export const guestArgv = z.array(z.string()).superRefine(refinedBy(checkArgv, 'argv'));

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
          catalog: z.object({ id: z.string().min(1).max(128), version: z.string().max(64).optional() }).strict(),
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

/** A change of a VM the agent saw in `prlctl monitor-events --json`, as the hub publishes it. */
export const MACHINE_EVENT_TYPES = [
  'machine.state_changed',
  'machine.added',
  'machine.removed',
  'machine.snapshots_changed',
] as const;
export const machineEventFrame = z.object({
  type: z.enum(MACHINE_EVENT_TYPES),
  vm_id: z.string().max(64),
  vm_name: z.string().max(200).nullable(),
  /** machine.state_changed: the state before (null when the agent had not seen the VM) and after. */
  previous: machineState.nullable(),
  current: machineState.nullable(),
  ts: z.iso.datetime(),
});
export type MachineEventFrame = z.infer<typeof machineEventFrame>;

export const machineSnapshot = z.object({
  id: z.string(),
  name: z.string(),
  date: z.string(),
  state: z.string(),
  current: z.boolean(),
  parent: z.string().nullable(),
});
export type MachineSnapshot = z.infer<typeof machineSnapshot>;
