import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { machineBusyPercent, machineCpuSample } from './proc';

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average at the start: a busy machine explains a slow run. */
  loadAverage1m: number;
  /** Share of all cores busy during one second before the run (null off Linux); above ~10 % the figures will be low. */
  busyPercentBefore: number | null;
  /** Commit of the checkout, and whether tracked files differ from it (figures belong to the code). */
  revision: string;
  date: string;
}

export async function machineFacts(): Promise<MachineFacts> {
  const cpuList = cpus();
  const busyPercentBefore = await busyPercentOver(1000);
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    busyPercentBefore,
    revision: gitRevision(),
    date: new Date().toISOString(),
  };
}

export function formatMachineHeader(m: MachineFacts): string {
  return [
    `cpu     ${m.cpuModel} (${m.cores} cores)`,
    `memory  ${m.memoryGiB} GiB (${Math.round(freemem() / 2 ** 30)} GiB free)`,
    `node    ${m.node} on ${m.os}`,
    `load    ${m.loadAverage1m} (1 min), ${m.busyPercentBefore ?? '?'}% of the CPUs busy just before the run${(m.busyPercentBefore ?? 0) > 10 ? ': figures will be low, run again when the machine is idle' : ''}`,
    `code    ${m.revision}`,
    `date    ${m.date}`,
  ].join('\n');
}

// Read-only plumbing commands: neither refreshes nor writes the index.
function gitRevision(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: __dirname, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  let commit: string;
  try {
    commit = git('rev-parse', '--short', 'HEAD');
  } catch {
    return 'unknown (not a git checkout)';
  }
  try {
    git('diff-index', '--quiet', 'HEAD', '--');
    return commit;
  } catch {
    return `${commit} with uncommitted changes`;
  }
}

async function busyPercentOver(ms: number): Promise<number | null> {
  const before = machineCpuSample();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const busy = machineBusyPercent(before, machineCpuSample());
  return busy === null ? null : Math.round(busy);
}
