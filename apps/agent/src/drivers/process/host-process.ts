import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceSpec } from '@hostplane/protocol';

const CLOCK_TICKS = 100;
const PAGE_SIZE = 4096;
const CGROUP_ROOT = '/sys/fs/cgroup';

interface ProcStat {
  pgrp: number;
  utime: number;
  stime: number;
  startTicks: number;
  rssPages: number;
  zombie: boolean;
}

function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (i: number) => Number(rest[i] ?? 0);
  return { zombie: rest[0] === 'Z', pgrp: num(2), utime: num(11), stime: num(12), startTicks: num(19), rssPages: num(21) };
}

/** Field 22 of /proc/<pid>/stat: the process's start time in clock ticks after boot. */
export function processStartTicks(pid: number): number | null {
  return readProcStat(pid)?.startTicks ?? null;
}

/** Alive, not a zombie, and the same process as recorded (a pid re-used after a reboot or wrap is not ours). */
export function isOurProcess(pid: number, startTicks: number | null): boolean {
  const st = readProcStat(pid);
  if (!st || st.zombie) return false;
  return startTicks === null || st.startTicks === startTicks;
}

function groupStats(pgid: number): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(Number(name));
    if (st && st.pgrp === pgid && !st.zombie) out.push(st);
  }
  return out;
}

export interface TreeSample {
  cpuSeconds: number;
  rssBytes: number;
  at: number;
}

/** CPU time and resident memory of every process in the instance's process group. */
export function sampleProcessGroup(pgid: number): TreeSample {
  const stats = groupStats(pgid);
  return {
    cpuSeconds: stats.reduce((n, s) => n + s.utime + s.stime, 0) / CLOCK_TICKS,
    rssBytes: stats.reduce((n, s) => n + s.rssPages * PAGE_SIZE, 0),
    at: Date.now(),
  };
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Why cgroup v2 limits cannot be applied here, or null when they can. */
export function cgroupUnavailableReason(): string | null {
  const controllers = join(CGROUP_ROOT, 'cgroup.controllers');
  if (!existsSync(controllers)) return 'no cgroup v2 hierarchy at /sys/fs/cgroup (limits are not enforced)';
  const have = readFileSync(controllers, 'utf8').trim().split(/\s+/);
  if (!have.includes('cpu') || !have.includes('memory')) return 'cgroup v2 lacks the cpu or memory controller (limits are not enforced)';
  try {
    accessSync(CGROUP_ROOT, constants.W_OK);
  } catch {
    return '/sys/fs/cgroup is not writable by the agent (limits are not enforced)';
  }
  return null;
}

function cgroupDir(id: string): string {
  return join(CGROUP_ROOT, `hostplane-${id}`);
}

/** Puts the process into `hostplane-<id>` with cpu.max and memory.max from the spec; false when skipped. */
export function applyCgroupLimits(id: string, resources: InstanceSpec['resources'], pid: number): boolean {
  if (cgroupUnavailableReason() !== null) return false;
  if (resources.cpu_cores === undefined && resources.memory_bytes === undefined) return false;
  const dir = cgroupDir(id);
  try {
    mkdirSync(dir, { recursive: true });
    const period = 100_000;
    writeFileSync(join(dir, 'cpu.max'), resources.cpu_cores === undefined ? `max ${period}` : `${Math.round(resources.cpu_cores * period)} ${period}`);
    writeFileSync(join(dir, 'memory.max'), resources.memory_bytes === undefined ? 'max' : String(resources.memory_bytes));
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    return true;
  } catch {
    return false;
  }
}

export function removeCgroup(id: string): void {
  try {
    rmdirSync(cgroupDir(id));
  } catch {
    // Absent (never created, or limits were skipped): nothing to clean up.
  }
}
