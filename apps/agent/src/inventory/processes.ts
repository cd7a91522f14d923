import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { z } from 'zod';
import type { processInventory } from '@hostplane/protocol';
import { runCommand } from '../exec/run-command';

export type ProcessInventory = z.infer<typeof processInventory>;

/** USER_HZ: the unit of /proc's CPU times; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** Command lines can be megabytes long (JVMs, generated argv); the inventory keeps the start. */
const MAX_COMMAND_CHARS = 4096;
/** Enough parallel reads to be quick, few enough to stay far below the open-files limit. */
const PROC_READ_BATCH = 64;

/** Every process on the host. CPU % is the average over each process's lifetime, as `ps` shows it. */
export async function collectProcesses(userNames: ReadonlyMap<number, string>): Promise<ProcessInventory[]> {
  const list = process.platform === 'linux' ? await processesFromProc(userNames) : await processesFromPs();
  return list.sort((a, b) => a.pid - b.pid);
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  cpuTicks: number;
  startTicks: number;
}

/** `/proc/<pid>/stat`; the command name is in parentheses and may itself contain ") ". */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const pid = Number(text.slice(0, open).trim());
  const num = (i: number) => Number(rest[i]);
  if (!Number.isInteger(pid) || rest.length < 20) return null;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: num(1),
    cpuTicks: num(11) + num(12),
    startTicks: num(19),
  };
}

async function processesFromProc(userNames: ReadonlyMap<number, string>): Promise<ProcessInventory[]> {
  const uptimeSeconds = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  const out: ProcessInventory[] = [];
  for (let i = 0; i < pids.length; i += PROC_READ_BATCH) {
    const batch = await Promise.all(
      pids.slice(i, i + PROC_READ_BATCH).map((pid) => readProcProcess(pid, uptimeSeconds, userNames)),
    );
    for (const p of batch) if (p) out.push(p);
  }
  return out;
}

async function readProcProcess(
  pid: string,
  uptimeSeconds: number,
  userNames: ReadonlyMap<number, string>,
): Promise<ProcessInventory | null> {
  try {
    const [statText, statusText, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    const stat = parseProcStat(statText);
    if (!stat) return null;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(statusText)?.[1] ?? -1);
    const rssKib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(statusText)?.[1] ?? 0);
    const ageSeconds = uptimeSeconds - stat.startTicks / CLOCK_TICKS_PER_SECOND;
    const cpuSeconds = stat.cpuTicks / CLOCK_TICKS_PER_SECOND;
    const command = cmdline.replace(/\0+$/, '').split('\0').join(' ');
    return {
      pid: stat.pid,
      ppid: stat.ppid,
      user: userNames.get(uid) ?? String(uid),
      name: stat.comm,
      command: (command || `[${stat.comm}]`).slice(0, MAX_COMMAND_CHARS),
      state: stat.state,
      cpu_percent: ageSeconds > 0 ? round2((cpuSeconds / ageSeconds) * 100) : 0,
      memory_bytes: rssKib * 1024,
    };
  } catch {
    // The process exited while we read it.
    return null;
  }
}

/** `ps` columns pid, ppid, user, pcpu, rss (KiB), state, comm (last: it may contain spaces). */
export function parsePsListing(text: string): Omit<ProcessInventory, 'command'>[] {
  const out: Omit<ProcessInventory, 'command'>[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+([\d.]+)\s+(\d+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid < 1) continue;
    out.push({
      pid,
      ppid: Number(m[2]),
      user: m[3] as string,
      cpu_percent: Number(m[4]),
      memory_bytes: Number(m[5]) * 1024,
      state: m[6] as string,
      name: basename((m[7] as string).trim()),
    });
  }
  return out;
}

async function processesFromPs(): Promise<ProcessInventory[]> {
  const stateColumn = process.platform === 'darwin' ? 'state=' : 's=';
  const [listing, args] = await Promise.all([
    runCommand(
      [
        'ps',
        '-A',
        '-o',
        'pid=',
        '-o',
        'ppid=',
        '-o',
        'user=',
        '-o',
        'pcpu=',
        '-o',
        'rss=',
        '-o',
        stateColumn,
        '-o',
        'comm=',
      ],
      { timeoutMs: 15_000 },
    ),
    runCommand(['ps', '-A', '-o', 'pid=', '-o', 'args='], { timeoutMs: 15_000 }),
  ]);
  const commands = new Map<number, string>();
  for (const line of args.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m) commands.set(Number(m[1]), (m[2] as string).trim());
  }
  return parsePsListing(listing.stdout).map((p) => ({
    ...p,
    command: (commands.get(p.pid) || p.name).slice(0, MAX_COMMAND_CHARS),
  }));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
