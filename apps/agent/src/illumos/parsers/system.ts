import { nonEmptyLines, toNumber } from './parsable';

export interface SwapDevice {
  path: string;
  device: string | null;
  swaplo_blocks: number;
  blocks: number;
  free_blocks: number;
}

/** `swap -l` (512-byte blocks): `swapfile dev swaplo blocks free`, `-` for dev on files. */
export function parseSwapList(output: string): SwapDevice[] {
  return nonEmptyLines(output)
    .filter((l) => !/^swapfile\s/.test(l))
    .map((line) => {
      const [path, device, swaplo, blocks, free] = line.trim().split(/\s+/);
      return {
        path,
        device: device === '-' ? null : device,
        swaplo_blocks: Number(swaplo),
        blocks: Number(blocks),
        free_blocks: Number(free),
      };
    });
}

export interface SwapSummary {
  allocated_bytes: number;
  reserved_bytes: number;
  used_bytes: number;
  available_bytes: number;
}

/** `swap -s`: `total: 270724k bytes allocated + 67680k reserved = 338404k used, 3842520k available`. */
export function parseSwapSummary(output: string): SwapSummary {
  const m = /total:\s*(\d+)k bytes allocated \+ (\d+)k reserved = (\d+)k used, (\d+)k available/.exec(output);
  if (!m) throw new Error(`unexpected swap -s output: ${JSON.stringify(output.trim())}`);
  const k = (s: string) => Number(s) * 1024;
  return { allocated_bytes: k(m[1]), reserved_bytes: k(m[2]), used_bytes: k(m[3]), available_bytes: k(m[4]) };
}

export interface BootEnvironment {
  name: string;
  uuid: string | null;
  active_now: boolean;
  active_on_reboot: boolean;
  mountpoint: string | null;
  space_bytes: number | null;
  policy: string | null;
  created: string | null;
}

/**
 * `beadm list -H`: `name;uuid;flags;mountpoint;space;policy;created` (flags N = active now, R = on reboot; created in
 * epoch seconds).
 */
export function parseBeadmList(output: string): BootEnvironment[] {
  return nonEmptyLines(output).map((line) => {
    const [name, uuid, flags, mountpoint, space, policy, created] = line.split(';');
    const epoch = toNumber(created);
    return {
      name,
      uuid: uuid || null,
      active_now: (flags ?? '').includes('N'),
      active_on_reboot: (flags ?? '').includes('R'),
      mountpoint: mountpoint && mountpoint !== '-' ? mountpoint : null,
      space_bytes: toNumber(space),
      policy: policy || null,
      created: epoch === null ? null : new Date(epoch * 1000).toISOString(),
    };
  });
}

export interface PackageEntry {
  name: string;
  publisher: string | null;
  version: string;
  /** `i` installed, `f` frozen, `o` obsolete, `r` renamed (the IFO column). */
  flags: string;
}

/** `pkg list -H [-a|-u]`: `name [(publisher)] version ifo`, whitespace-aligned. */
export function parsePkgList(output: string): PackageEntry[] {
  return nonEmptyLines(output).map((line) => {
    const m = /^(\S+)\s+(?:\((\S+)\)\s+)?(\S+)\s+(\S{3})\s*$/.exec(line);
    if (!m) throw new Error(`unexpected pkg list line: ${JSON.stringify(line)}`);
    return { name: m[1], publisher: m[2] ?? null, version: m[3], flags: m[4] };
  });
}

/** `pkg info` blocks: `Name: value` lines, aligned on the colon; blocks separated by blank lines. */
export function parsePkgInfo(output: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let current: Record<string, string> | null = null;
  for (const line of output.split('\n')) {
    const m = /^\s*([A-Za-z][A-Za-z ]*?):\s(.*)$/.exec(line);
    if (!m) {
      if (line.trim() === '') current = null;
      continue;
    }
    if (!current) blocks.push((current = {}));
    current[m[1].toLowerCase().replace(/ /g, '_')] = m[2].trim();
  }
  return blocks;
}

/** `svcs -H -o state,stime,fmri` (or any `-o` list whose last column is the one that may hold spaces). */
export function parseSvcs(
  output: string,
  columns: readonly string[] = ['state', 'stime', 'fmri'],
): Record<string, string>[] {
  return nonEmptyLines(output).map((line) => {
    const parts = line.trim().split(/\s+/);
    const record: Record<string, string> = {};
    columns.forEach((c, i) => (record[c] = i === columns.length - 1 ? parts.slice(i).join(' ') : (parts[i] ?? '')));
    return record;
  });
}

export interface KstatValue {
  module: string;
  instance: string;
  name: string;
  statistic: string;
  value: string;
}

/** `kstat -p [module:instance:name:statistic]`: `module:instance:name:statistic<TAB>value`. */
export function parseKstat(output: string): KstatValue[] {
  return nonEmptyLines(output).flatMap((line) => {
    const tab = line.indexOf('\t');
    if (tab < 0) return [];
    const key = line.slice(0, tab).split(':');
    if (key.length < 4) return [];
    return [
      { module: key[0], instance: key[1], name: key[2], statistic: key.slice(3).join(':'), value: line.slice(tab + 1) },
    ];
  });
}

/** kstat values of one name as a `statistic → number` map (e.g. `zfs:0:arcstats`). */
export function kstatNumbers(values: KstatValue[], name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) if (v.name === name && /^-?\d+(\.\d+)?$/.test(v.value)) out[v.statistic] = Number(v.value);
  return out;
}

export interface VmstatSample {
  run_queue: number;
  blocked: number;
  swapped: number;
  swap_free_kb: number;
  free_kb: number;
  page_ins: number;
  page_outs: number;
  scan_rate: number;
  interrupts: number;
  syscalls: number;
  context_switches: number;
  cpu_user: number;
  cpu_system: number;
  cpu_idle: number;
}

/**
 * `vmstat [interval count]`: two header lines, then rows. The last row is the freshest (the
 * first is the average since boot). The disk columns vary per host, so the tail columns are
 * read from the end: `in sy cs us sy id`.
 */
export function parseVmstat(output: string): VmstatSample {
  const rows = nonEmptyLines(output).filter((l) => /^\s*\d/.test(l));
  const last = rows[rows.length - 1];
  if (!last) throw new Error('vmstat printed no sample');
  const f = last.trim().split(/\s+/).map(Number);
  const tail = (i: number) => f[f.length - i];
  return {
    run_queue: f[0],
    blocked: f[1],
    swapped: f[2],
    swap_free_kb: f[3],
    free_kb: f[4],
    page_ins: f[7],
    page_outs: f[8],
    scan_rate: f[11],
    interrupts: tail(6),
    syscalls: tail(5),
    context_switches: tail(4),
    cpu_user: tail(3),
    cpu_system: tail(2),
    cpu_idle: tail(1),
  };
}

export interface Route {
  destination: string;
  gateway: string;
  flags: string;
  interface: string | null;
}

/** `netstat -rn -f inet|inet6`: the table after the dashed rule; the interface column may be empty. */
export function parseNetstatRoutes(output: string): Route[] {
  const routes: Route[] = [];
  let inTable = false;
  for (const line of nonEmptyLines(output)) {
    if (/^-{4,}/.test(line)) {
      inTable = true;
      continue;
    }
    if (/^Routing Table/.test(line)) inTable = false;
    if (!inTable) continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3) continue;
    // IPv4 rows: dest gateway flags ref use [iface]; IPv6 rows: dest gateway flags ref use [iface] too.
    routes.push({ destination: parts[0], gateway: parts[1], flags: parts[2], interface: parts[5] ?? null });
  }
  return routes;
}
