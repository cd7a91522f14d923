import { nonEmptyLines, parseTabColumns, toNumber } from './parsable';

export const ZFS_LIST_COLUMNS = ['name', 'type', 'used', 'avail', 'refer', 'mountpoint', 'origin'] as const;

export interface ZfsDataset {
  name: string;
  type: string;
  used: number | null;
  available: number | null;
  referenced: number | null;
  mountpoint: string | null;
  origin: string | null;
}

/** `zfs list -H -p -o name,type,used,avail,refer,mountpoint,origin` (tab-separated, bytes, `-` for none). */
export function parseZfsList(output: string): ZfsDataset[] {
  return parseTabColumns(output, ZFS_LIST_COLUMNS).map((r) => ({
    name: r.name ?? '',
    type: r.type ?? 'filesystem',
    used: toNumber(r.used),
    available: toNumber(r.avail),
    referenced: toNumber(r.refer),
    mountpoint: r.mountpoint,
    origin: r.origin,
  }));
}

export interface ZfsProperty {
  name: string;
  property: string;
  value: string;
  source: string;
}

/** `zfs get -H -p -o name,property,value,source …` (also `zpool get -H -p`). */
export function parseZfsGet(output: string): ZfsProperty[] {
  return nonEmptyLines(output).map((line) => {
    const [name, property, value, source] = line.split('\t');
    return { name, property, value: value ?? '', source: source ?? '-' };
  });
}

export const ZPOOL_LIST_COLUMNS = [
  'name',
  'size',
  'alloc',
  'free',
  'frag',
  'cap',
  'dedup',
  'health',
  'altroot',
] as const;

export interface ZpoolSummary {
  name: string;
  size: number | null;
  allocated: number | null;
  free: number | null;
  fragmentation_percent: number | null;
  capacity_percent: number | null;
  dedup_ratio: number | null;
  health: string;
  altroot: string | null;
}

/**
 * `zpool list -H -p -o name,size,alloc,free,frag,cap,dedup,health,altroot` (with -p: `frag`/`cap` bare numbers, dedup
 * `1.00`).
 */
export function parseZpoolList(output: string): ZpoolSummary[] {
  return parseTabColumns(output, ZPOOL_LIST_COLUMNS).map((r) => ({
    name: r.name ?? '',
    size: toNumber(r.size),
    allocated: toNumber(r.alloc),
    free: toNumber(r.free),
    fragmentation_percent: toNumber(r.frag?.replace(/%$/, '')),
    capacity_percent: toNumber(r.cap?.replace(/%$/, '')),
    dedup_ratio: toNumber(r.dedup?.replace(/x$/, '')),
    health: r.health ?? 'UNKNOWN',
    altroot: r.altroot,
  }));
}

export interface ZpoolVdev {
  name: string;
  state: string;
  read_errors: number | null;
  write_errors: number | null;
  checksum_errors: number | null;
  /** 0 for the pool itself, 1 for its top-level vdevs, … (from the indentation). */
  depth: number;
}

export interface ZpoolStatus {
  pool: string;
  state: string;
  status: string | null;
  action: string | null;
  scan: string | null;
  config: ZpoolVdev[];
  errors: string | null;
}

/**
 * `zpool status [pool]`: one block per pool, `key: value` headers (continued on indented lines) and the config table.
 */
export function parseZpoolStatus(output: string): ZpoolStatus[] {
  const pools: ZpoolStatus[] = [];
  let pool: ZpoolStatus | null = null;
  let lastKey: string | null = null;
  let inConfig = false;
  let baseIndent = -1;
  for (const line of output.split('\n')) {
    const header = /^\s*(pool|state|status|action|scan|see|config|errors):\s?(.*)$/.exec(line);
    if (header && !(inConfig && header[1] !== 'errors')) {
      const [, key, value] = header;
      if (key === 'pool') {
        pool = {
          pool: value.trim(),
          state: 'UNKNOWN',
          status: null,
          action: null,
          scan: null,
          config: [],
          errors: null,
        };
        pools.push(pool);
        inConfig = false;
      } else if (pool) {
        inConfig = key === 'config';
        baseIndent = -1;
        if (key === 'state') pool.state = value.trim();
        else if (key === 'status' || key === 'action' || key === 'scan' || key === 'errors') pool[key] = value.trim();
      }
      lastKey = key;
      continue;
    }
    if (!pool || line.trim() === '') continue;
    if (inConfig) {
      const m = /^(\s*)(\S+)\s+(\S+)(?:\s+(\S+)\s+(\S+)\s+(\S+))?/.exec(line.replace(/^\t/, ''));
      if (!m || m[2] === 'NAME') continue;
      if (baseIndent < 0) baseIndent = m[1].length;
      pool.config.push({
        name: m[2],
        state: m[3],
        read_errors: toNumber(m[4]),
        write_errors: toNumber(m[5]),
        checksum_errors: toNumber(m[6]),
        depth: Math.max(0, (m[1].length - baseIndent) / 2),
      });
    } else if (lastKey && /^\s+/.test(line) && (lastKey === 'status' || lastKey === 'action' || lastKey === 'scan')) {
      pool[lastKey] = `${pool[lastKey] ?? ''} ${line.trim()}`.trim();
    }
  }
  return pools;
}
