import type { MachineState, ParallelsInventory, ParallelsInventoryMachine } from '@hostplane/protocol';

/** CPU, memory and disk in one unit each: CPUs, bytes, bytes. */
export interface ResourceFigures {
  cpus: number;
  memory_bytes: number;
  disk_bytes: number;
}

export interface MachineCounts {
  total: number;
  templates: number;
  by_state: Partial<Record<MachineState, number>>;
  macos: number;
}

/** One host's resources as the overview and placement read them (docs/decisions/0039-machine-placement.md). */
export interface HostResources {
  total: ResourceFigures;
  /** Held by VMs that are up (running, paused, starting…): CPUs and memory; disk: what the volume has in use. */
  used: ResourceFigures;
  /** Allocated to every registered VM that is not a template, whatever its state (may exceed total). */
  reserved: ResourceFigures;
  /** What a new running VM can have now: total − used (never below 0); disk: the volume's free space. */
  free: ResourceFigures;
  machines: MachineCounts;
  macos_vm_limit: number | null;
}

/** States in which a VM holds its CPUs and memory. */
const DOWN: ReadonlySet<MachineState> = new Set(['stopped', 'suspended', 'unknown']);

export function isMacosGuest(os: string): boolean {
  return /^mac/i.test(os);
}

/** A VM counted against the licence's macOS guest limit: a registered macOS guest that is not a template. */
export function countsAsMacosGuest(m: ParallelsInventoryMachine): boolean {
  return !m.template && isMacosGuest(m.os);
}

const zero = (): ResourceFigures => ({ cpus: 0, memory_bytes: 0, disk_bytes: 0 });

export function hostResources(p: ParallelsInventory): HostResources {
  const used = zero();
  const reserved = zero();
  const by_state: Partial<Record<MachineState, number>> = {};
  let templates = 0;
  let macos = 0;
  for (const m of p.machines) {
    by_state[m.state] = (by_state[m.state] ?? 0) + 1;
    if (m.template) {
      templates++;
      continue;
    }
    if (countsAsMacosGuest(m)) macos++;
    reserved.cpus += m.cpus;
    reserved.memory_bytes += m.memory_bytes;
    reserved.disk_bytes += m.disk_bytes;
    if (!DOWN.has(m.state)) {
      used.cpus += m.cpus;
      used.memory_bytes += m.memory_bytes;
    }
  }
  const hw = p.hardware;
  used.disk_bytes = Math.max(0, hw.disk_total_bytes - hw.disk_free_bytes);
  return {
    total: { cpus: hw.cpus, memory_bytes: hw.memory_bytes, disk_bytes: hw.disk_total_bytes },
    used,
    reserved,
    free: {
      cpus: Math.max(0, hw.cpus - used.cpus),
      memory_bytes: Math.max(0, hw.memory_bytes - used.memory_bytes),
      disk_bytes: hw.disk_free_bytes,
    },
    machines: { total: p.machines.length, templates, by_state, macos },
    macos_vm_limit: p.license.macos_vm_limit,
  };
}

/** The sum over hosts: figures and counts add up; the macOS limit is per host, so it is not summed. */
export function sumResources(hosts: readonly HostResources[]): Omit<HostResources, 'macos_vm_limit'> {
  const add = (a: ResourceFigures, b: ResourceFigures): ResourceFigures => ({
    cpus: a.cpus + b.cpus,
    memory_bytes: a.memory_bytes + b.memory_bytes,
    disk_bytes: a.disk_bytes + b.disk_bytes,
  });
  const out = {
    total: zero(),
    used: zero(),
    reserved: zero(),
    free: zero(),
    machines: { total: 0, templates: 0, by_state: {} as Partial<Record<MachineState, number>>, macos: 0 },
  };
  for (const h of hosts) {
    out.total = add(out.total, h.total);
    out.used = add(out.used, h.used);
    out.reserved = add(out.reserved, h.reserved);
    out.free = add(out.free, h.free);
    out.machines.total += h.machines.total;
    out.machines.templates += h.machines.templates;
    out.machines.macos += h.machines.macos;
    for (const [state, n] of Object.entries(h.machines.by_state) as [MachineState, number][])
      out.machines.by_state[state] = (out.machines.by_state[state] ?? 0) + n;
  }
  return out;
}
