import type { ParallelsInventory } from '@hostplane/protocol';
import { hostResources, isMacosGuest, type ResourceFigures } from './machine-resources';

/** What a VM created "somewhere" asks of its host. */
export interface PlacementRequest {
  /** Where the VM comes from: a VM or template on the host now; a catalog image later (the seam). */
  source: { kind: 'vm'; name: string } | { kind: 'catalog'; id: string };
  architecture: 'arm64' | 'x86_64' | null;
  cpus: number;
  memory_mb: number;
  disk_mb: number | null;
  /** The guest OS (`macosx`, `ubuntu`…); null: the source VM's. */
  os: string | null;
  /** Node labels the host must carry, key → value. */
  tags: Record<string, string>;
  /** The new VM's name, when creating: a host that has a VM by that name cannot take it. */
  name?: string;
}

/** A node as placement sees it. */
export interface PlacementCandidate {
  id: string;
  name: string;
  online: boolean;
  schedulable: boolean;
  labels: Record<string, string>;
  parallels: ParallelsInventory | null;
}

export interface PlacementChoice {
  node_id: string;
  node_name: string;
  /** The host holds the source already (no download, a linked clone is possible). */
  source_cached: boolean;
  score: number;
}

export interface PlacementRejection {
  node_id: string;
  node_name: string;
  reasons: string[];
}

export interface PlacementResult {
  chosen: PlacementChoice | null;
  rejected: PlacementRejection[];
}

const MIB = 2 ** 20;

/** `aarch64`/`arm64` and `amd64`/`x86_64` name the same architectures. */
export function normalizeArch(arch: string): string {
  const a = arch.toLowerCase();
  if (a === 'aarch64' || a === 'arm64') return 'arm64';
  if (a === 'amd64' || a === 'x86_64' || a === 'x64') return 'x86_64';
  return a;
}

function findSource(p: ParallelsInventory, source: PlacementRequest['source']) {
  if (source.kind !== 'vm') return null;
  const bare = source.name.replace(/^\{|\}$/g, '');
  return p.machines.find((m) => m.id === bare) ?? p.machines.find((m) => m.name === source.name) ?? null;
}

/** Every reason this host cannot take the VM (empty: it can), and whether it holds the source. */
export function hostFit(
  req: PlacementRequest,
  c: PlacementCandidate,
): { reasons: string[]; cached: boolean; free: ResourceFigures | null } {
  const reasons: string[] = [];
  if (!c.online) reasons.push('offline');
  if (!c.schedulable) reasons.push('cordoned (disabled for new machines)');
  const p = c.parallels;
  if (!p) return { reasons: [...reasons, 'no Parallels Desktop in its inventory'], cached: false, free: null };
  for (const [k, v] of Object.entries(req.tags))
    if (c.labels[k] !== v) reasons.push(`tag ${k}=${v} missing${k in c.labels ? ` (has ${k}=${c.labels[k]})` : ''}`);
  const arch = normalizeArch(p.hardware.arch);
  if (req.architecture && arch !== req.architecture) reasons.push(`architecture ${arch}, ${req.architecture} asked`);
  if (p.license.state !== 'valid') reasons.push(`Parallels Desktop licence is ${p.license.state}`);
  const source = findSource(p, req.source);
  if (req.source.kind === 'vm' && !source) reasons.push(`source ${req.source.name} is not on this host`);
  if (req.name !== undefined && p.machines.some((m) => m.name === req.name))
    reasons.push(`a VM named ${req.name} is already on this host`);
  const resources = hostResources(p);
  const free = resources.free;
  const os = req.os ?? source?.os ?? null;
  if (os !== null && isMacosGuest(os) && p.license.macos_vm_limit !== null) {
    const count = resources.machines.macos;
    if (count >= p.license.macos_vm_limit)
      reasons.push(`macOS guests at the licence limit (${count} of ${p.license.macos_vm_limit})`);
  }
  const { cpu_limit_per_vm: cpuCap, memory_limit_mb_per_vm: memCap } = p.license;
  if (cpuCap !== null && req.cpus > cpuCap) reasons.push(`licence allows at most ${cpuCap} vCPUs per VM`);
  if (memCap !== null && req.memory_mb > memCap) reasons.push(`licence allows at most ${memCap} MiB of memory per VM`);
  if (req.cpus > free.cpus) reasons.push(`needs ${req.cpus} CPUs, ${free.cpus} free`);
  if (req.memory_mb * MIB > free.memory_bytes)
    reasons.push(`needs ${req.memory_mb} MiB of memory, ${Math.floor(free.memory_bytes / MIB)} MiB free`);
  // Parallels disks expand as the guest writes: only a size asked for is checked against the volume.
  if (req.disk_mb !== null && req.disk_mb * MIB > free.disk_bytes)
    reasons.push(`needs ${req.disk_mb} MiB of disk, ${Math.floor(free.disk_bytes / MIB)} MiB free`);
  return { reasons, cached: source !== null, free };
}

/**
 * Picks the host for a new VM among those that fit: a host that already holds the source first
 * (no image to fetch), then the one left with the most free memory, then CPUs, then by name.
 * Every host that does not fit is named with all its reasons.
 */
export function placeMachine(req: PlacementRequest, candidates: readonly PlacementCandidate[]): PlacementResult {
  const rejected: PlacementRejection[] = [];
  const fits: (PlacementChoice & { freeMemory: number; freeCpus: number })[] = [];
  for (const c of candidates) {
    const { reasons, cached, free } = hostFit(req, c);
    if (reasons.length > 0 || !free) {
      rejected.push({ node_id: c.id, node_name: c.name, reasons });
      continue;
    }
    const freeMemory = free.memory_bytes - req.memory_mb * MIB;
    const freeCpus = free.cpus - req.cpus;
    fits.push({
      node_id: c.id,
      node_name: c.name,
      source_cached: cached,
      // Cached first; then memory left (GiB) and CPUs left.
      score: (cached ? 1_000_000 : 0) + Math.floor(freeMemory / 2 ** 30) * 100 + freeCpus,
      freeMemory,
      freeCpus,
    });
  }
  fits.sort(
    (a, b) =>
      Number(b.source_cached) - Number(a.source_cached) ||
      b.freeMemory - a.freeMemory ||
      b.freeCpus - a.freeCpus ||
      a.node_name.localeCompare(b.node_name),
  );
  const best = fits[0];
  return {
    chosen: best
      ? { node_id: best.node_id, node_name: best.node_name, source_cached: best.source_cached, score: best.score }
      : null,
    rejected,
  };
}
