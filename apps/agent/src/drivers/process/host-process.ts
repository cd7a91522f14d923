import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = 100;
const PAGE_SIZE = 4096;

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
  return {
    zombie: rest[0] === 'Z',
    pgrp: num(2),
    utime: num(11),
    stime: num(12),
    startTicks: num(19),
    rssPages: num(21),
  };
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
