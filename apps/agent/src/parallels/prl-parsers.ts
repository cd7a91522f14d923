import { z } from 'zod';
import { MACHINE_STATES, type Machine, type MachineSnapshot, type MachineState } from '@hostplane/protocol';

/**
 * Parsers of what `prlctl` and `prlsrvctl` print with `--json` (Parallels Desktop 19/20). Pure
 * functions: the shapes are checked with loose schemas (the tools add fields between versions)
 * and turned into the agent's own types; anything else is an error that names the command.
 */
export class PrlOutputError extends Error {
  constructor(command: string, detail: string) {
    super(`unexpected output from ${command}: ${detail}`);
    this.name = 'PrlOutputError';
  }
}

function parseJson(command: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PrlOutputError(command, `not JSON (${(err as Error).message})`);
  }
}

function checked<T>(command: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new PrlOutputError(command, z.prettifyError(result.error).slice(0, 500));
  return result.data;
}

/** `2048Mb`, `64Gb`, `512` (MiB) → bytes. */
export function prlSizeBytes(size: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)b?$/i.exec((size ?? '').trim());
  if (!m) return 0;
  const unit = { '': 2 ** 20, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2].toUpperCase()] ?? 2 ** 20;
  return Math.round(Number(m[1]) * unit);
}

export function stripBraces(id: string): string {
  return id.replace(/^\{|\}$/g, '');
}

function machineStateOf(state: string): MachineState {
  return (MACHINE_STATES as readonly string[]).includes(state) ? (state as MachineState) : 'unknown';
}

const vmInfo = z.looseObject({
  ID: z.string(),
  Name: z.string(),
  Description: z.string().optional(),
  State: z.string(),
  OS: z.string().optional(),
  Template: z.string().optional(),
  Uptime: z.string().optional(),
  'Home path': z.string().optional(),
  Home: z.string().optional(),
  GuestTools: z.looseObject({ state: z.string(), version: z.string().optional() }).optional(),
  'Boot order': z.string().optional(),
  Hardware: z
    .looseObject({
      cpu: z.looseObject({ cpus: z.number().optional() }).optional(),
      memory: z.looseObject({ size: z.string().optional() }).optional(),
      hdd0: z.looseObject({ size: z.string().optional() }).optional(),
      net0: z.looseObject({ type: z.string().optional(), mac: z.string().optional() }).optional(),
    })
    .optional(),
  Network: z
    .looseObject({
      ipAddresses: z.array(z.looseObject({ type: z.string().optional(), ip: z.string() })).optional(),
    })
    .optional(),
});

/** `prlctl list [vm] -a -i --json`: the VMs with their hardware, guest tools and addresses. */
export function parseVmInfoList(text: string): Machine[] {
  const rows = checked('prlctl list -i --json', z.array(vmInfo), parseJson('prlctl list -i --json', text));
  return rows.map((r) => ({
    id: stripBraces(r.ID),
    name: r.Name,
    description: r.Description ?? '',
    state: machineStateOf(r.State),
    os: r.OS ?? '',
    template: r.Template === 'yes',
    uptime_seconds: Math.max(0, Math.floor(Number(r.Uptime ?? 0)) || 0),
    home: r.Home ?? r['Home path'] ?? '',
    cpus: r.Hardware?.cpu?.cpus ?? 0,
    memory_bytes: prlSizeBytes(r.Hardware?.memory?.size),
    disk_bytes: prlSizeBytes(r.Hardware?.hdd0?.size),
    boot_order: r['Boot order'] ?? '',
    guest_tools: { state: r.GuestTools?.state ?? 'unknown', version: r.GuestTools?.version ?? null },
    network: {
      type: r.Hardware?.net0?.type ?? '',
      mac: r.Hardware?.net0?.mac ?? '',
      ip_addresses: (r.Network?.ipAddresses ?? []).map((a) => a.ip),
    },
  }));
}

export interface VmListEntry {
  id: string;
  name: string;
  state: MachineState;
  ip: string | null;
}

/** `prlctl list -a --json`: uuid (in braces), status, ip_configured ("-" when none), name. */
export function parseVmList(text: string): VmListEntry[] {
  const rows = checked(
    'prlctl list -a --json',
    z.array(z.looseObject({ uuid: z.string(), status: z.string(), ip_configured: z.string(), name: z.string() })),
    parseJson('prlctl list -a --json', text),
  );
  return rows.map((r) => ({
    id: stripBraces(r.uuid),
    name: r.name,
    state: machineStateOf(r.status),
    ip: r.ip_configured === '-' || r.ip_configured === '' ? null : r.ip_configured,
  }));
}

/** `prlctl snapshot-list <vm> --json`: an object keyed by `{id}`; empty output when the VM has none. */
export function parseSnapshotList(text: string): MachineSnapshot[] {
  if (text.trim() === '') return [];
  const map = checked(
    'prlctl snapshot-list --json',
    z.record(
      z.string(),
      z.looseObject({
        name: z.string(),
        date: z.string(),
        state: z.string(),
        current: z.boolean(),
        parent: z.string(),
      }),
    ),
    parseJson('prlctl snapshot-list --json', text),
  );
  return Object.entries(map).map(([id, s]) => ({
    id: stripBraces(id),
    name: s.name,
    date: s.date,
    state: s.state,
    current: s.current,
    parent: s.parent === '' ? null : stripBraces(s.parent),
  }));
}

export interface SnapshotNode extends MachineSnapshot {
  children: SnapshotNode[];
}

/** The snapshots as a tree (roots first, children in date order), as the snapshot manager shows them. */
export function snapshotTree(snapshots: MachineSnapshot[]): SnapshotNode[] {
  const nodes = new Map(snapshots.map((s) => [s.id, { ...s, children: [] as SnapshotNode[] }]));
  const roots: SnapshotNode[] = [];
  for (const n of [...nodes.values()].sort((a, b) => a.date.localeCompare(b.date))) {
    const parent = n.parent === null ? undefined : nodes.get(n.parent);
    (parent ? parent.children : roots).push(n);
  }
  return roots;
}

/** `prlctl snapshot` prints "The snapshot with id {…} has been successfully created." */
export function parseSnapshotCreated(text: string): string {
  const m = /snapshot with id \{([0-9a-fA-F-]{36})\}/.exec(text);
  if (!m) throw new PrlOutputError('prlctl snapshot', 'no snapshot id in its output');
  return m[1];
}

export interface PrlEvent {
  at: string;
  vmId: string;
  name: string;
  /** `Additional info` → `Vm state name` on vm_state_changed. */
  state: MachineState | null;
}

const eventLine = z.looseObject({
  Timestamp: z.string().optional(),
  'VM ID': z.string(),
  'Event name': z.string(),
  'Additional info': z.looseObject({ 'Vm state name': z.string().optional() }).nullish(),
});

/** One line of `prlctl monitor-events --json`; null for a line that is not an event (banners, blanks). */
export function parseMonitorEventLine(line: string): PrlEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const r = eventLine.safeParse(value);
  if (!r.success) return null;
  const stateName = r.data['Additional info']?.['Vm state name'];
  return {
    at: r.data.Timestamp ?? '',
    vmId: stripBraces(r.data['VM ID']),
    name: r.data['Event name'],
    state: stateName ? machineStateOf(stateName) : null,
  };
}

export interface PrlServerInfo {
  id: string;
  hostname: string;
  os: string;
  version: string;
  vm_home: string;
  license: {
    state: string;
    edition: string | null;
    restricted: boolean;
    expires_at: string | null;
    trial: boolean;
    /** macOS guests that may run at once under the licence terms; null where the host states none. */
    macos_vm_limit: number | null;
    cpu_limit_per_vm: number | null;
    memory_limit_mb_per_vm: number | null;
  };
  /** "Hardware info": the host devices Parallels sees (disks, partitions, adapters). */
  devices: { id: string; name: string; type: string }[];
}

/** A licence term printed as a string or a number; absent, empty or unlimited (0/-1) → null. */
function limitOf(value: string | number | undefined): number | null {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value ?? '') ? Number(value) : NaN;
  return Number.isInteger(n) && n > 0 ? n : null;
}

const licenseTerm = z.union([z.string(), z.number()]).optional();

/** `prlsrvctl info --json`: the host's Parallels Desktop (version, license, VM home). The license key is not kept. */
export function parseServerInfo(text: string): PrlServerInfo {
  const r = checked(
    'prlsrvctl info --json',
    z.looseObject({
      ID: z.string(),
      Hostname: z.string(),
      OS: z.string(),
      Version: z.string(),
      'VM home': z.string().optional(),
      License: z
        .looseObject({
          state: z.string(),
          edition: z.string().optional(),
          restricted: z.string().optional(),
          'expiration date': z.string().optional(),
          is_trial: z.string().optional(),
          macos_vms_limit: licenseTerm,
          cpu_limit: licenseTerm,
          ram_limit: licenseTerm,
        })
        .optional(),
      'Hardware info': z
        .record(z.string(), z.looseObject({ name: z.string().optional(), type: z.string().optional() }))
        .optional(),
    }),
    parseJson('prlsrvctl info --json', text),
  );
  const l = r.License;
  return {
    id: stripBraces(r.ID),
    hostname: r.Hostname,
    os: r.OS,
    version: r.Version,
    vm_home: r['VM home'] ?? '',
    license: {
      state: l?.state ?? 'unknown',
      edition: l?.edition ?? null,
      restricted: l?.restricted === 'true',
      expires_at: l?.['expiration date'] || null,
      trial: l?.is_trial === 'true',
      macos_vm_limit: limitOf(l?.macos_vms_limit),
      cpu_limit_per_vm: limitOf(l?.cpu_limit),
      memory_limit_mb_per_vm: limitOf(l?.ram_limit),
    },
    devices: Object.entries(r['Hardware info'] ?? {})
      .slice(0, 256)
      .map(([id, d]) => ({ id, name: d.name ?? '', type: d.type ?? '' })),
  };
}

/** `sysctl -n hw.machine hw.logicalcpu hw.memsize machdep.cpu.brand_string`, one value a line. */
export function parseSysctlHardware(text: string): {
  arch: string;
  cpus: number;
  memory_bytes: number;
  cpu_model: string;
} {
  const [arch, cpus, memory, ...model] = text.trim().split('\n');
  if (!arch || !/^\d+$/.test(cpus ?? '') || !/^\d+$/.test(memory ?? ''))
    throw new PrlOutputError('sysctl -n hw.machine hw.logicalcpu hw.memsize', text.slice(0, 200));
  return { arch: arch.trim(), cpus: Number(cpus), memory_bytes: Number(memory), cpu_model: model.join(' ').trim() };
}

export interface PrlUser {
  name: string;
  manage_settings: string;
  vm_home: string;
}

/** `prlsrvctl user list --json`: NAME, MNG_SETTINGS, DEF_VM_HOME. */
export function parseUserList(text: string): PrlUser[] {
  return checked(
    'prlsrvctl user list --json',
    z.array(z.looseObject({ NAME: z.string(), MNG_SETTINGS: z.string(), DEF_VM_HOME: z.string() })),
    parseJson('prlsrvctl user list --json', text),
  ).map((u) => ({ name: u.NAME, manage_settings: u.MNG_SETTINGS, vm_home: u.DEF_VM_HOME }));
}
