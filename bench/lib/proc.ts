import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// Linux /proc readers for the figures a benchmark reports about a process it did not write
// (the hub child, redis-server, PostgreSQL backends). Each returns null off Linux or once the
// process is gone, so a benchmark prints "-" instead of failing.

// utime and stime are in clock ticks; USER_HZ is 100 on every Linux architecture Node runs on.
const CLOCK_TICKS_PER_SECOND = 100;

/** User + system CPU time the process has used since it started, in seconds. */
export function processCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces; fields after its closing ')' are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export interface ProcessMemory {
  /** Resident set size now (VmRSS). */
  rssBytes: number;
  /** Highest resident set size since the process started (VmHWM). */
  peakRssBytes: number;
}

export function processMemory(pid: number): ProcessMemory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const rssBytes = kib('VmRSS');
  if (!Number.isFinite(rssBytes)) return null;
  return { rssBytes, peakRssBytes: kib('VmHWM') };
}

/** The soft limit on open files of a running process (what it inherited), or null. */
export function openFilesLimit(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : soft ? Number(soft) : null;
  } catch {
    return null;
  }
}

/** Socket inodes the process holds open (each `socket:[inode]` in /proc/<pid>/fd). */
function socketInodes(pid: number): Set<string> | null {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return null;
  }
  const inodes = new Set<string>();
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
  }
  return inodes;
}

const TCP_ESTABLISHED = '01';

/**
 * The process's established TCP connections counted by remote port (6379 → Redis, 5432 →
 * PostgreSQL): its own sockets only (matched by inode), so other programs using the same Redis
 * or PostgreSQL at the same time do not blur the count the way a server-side client count does.
 */
export function tcpConnectionsByRemotePort(pid: number): Map<number, number> | null {
  const inodes = socketInodes(pid);
  if (!inodes) return null;
  const counts = new Map<number, number>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_ESTABLISHED || !inodes.has(f[9]!)) continue;
      const remotePort = parseInt(f[2]!.split(':')[1]!, 16);
      counts.set(remotePort, (counts.get(remotePort) ?? 0) + 1);
    }
  }
  return counts;
}

/** Idle and total ticks of all cores since boot: the aggregate `cpu` line of /proc/stat. */
export interface MachineCpuSample {
  idle: number;
  total: number;
}

export function machineCpuSample(): MachineCpuSample | null {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  } catch {
    return null;
  }
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number); // guest time is already in user
  return { idle: ticks[3]! + ticks[4]!, total: ticks.reduce((a, b) => a + b, 0) };
}

/** Share of all cores busy between two samples, in percent of the whole machine (100 = every core). */
export function machineBusyPercent(before: MachineCpuSample | null, after: MachineCpuSample | null): number | null {
  if (!before || !after || after.total === before.total) return null;
  return (1 - (after.idle - before.idle) / (after.total - before.total)) * 100;
}
