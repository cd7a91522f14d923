import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How this host's cgroups are laid out: one unified v2 tree, or v1 controllers mounted one per directory. */
export type CgroupLayout = { version: 2; root: string } | { version: 1; root: string };

export interface CgroupLimits {
  memoryBytes?: number;
  cpuCores?: number;
  pidsMax: number;
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
const CPU_PERIOD_US = 100_000;

/** The layout, or why instance limits cannot be enforced here. */
export function detectCgroups(root = '/sys/fs/cgroup'): CgroupLayout | { problem: string } {
  const writable = (dir: string) => {
    try {
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const have = readFileSync(join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    const missing = ['cpu', 'memory', 'pids'].filter((c) => !have.includes(c));
    if (missing.length > 0) return { problem: `cgroup v2 at ${root} lacks the ${missing.join(', ')} controller(s)` };
    if (!writable(root)) return { problem: `${root} is not writable by the agent (run it as root)` };
    try {
      enableV2Controllers(root);
    } catch (err) {
      // E.g. inside a container whose cgroup namespace root holds processes (EBUSY).
      return {
        problem: `cannot enable the cpu, memory and pids controllers for ${join(root, 'hostplane')}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      };
    }
    return { version: 2, root };
  }
  const missing = V1_CONTROLLERS.filter((c) => !existsSync(join(root, c, 'cgroup.procs')));
  if (missing.length > 0)
    return { problem: `no cgroup v2 tree and no cgroup v1 ${missing.join(', ')} controller(s) under ${root}` };
  const readOnly = V1_CONTROLLERS.filter((c) => !writable(join(root, c)));
  if (readOnly.length > 0)
    return { problem: `cgroup v1 ${readOnly.join(', ')} under ${root} not writable by the agent (run it as root)` };
  return { version: 1, root };
}

/** Controllers must be enabled on every level above an instance's group: the root and `hostplane/`. */
function enableV2Controllers(root: string): void {
  const parent = join(root, 'hostplane');
  mkdirSync(parent, { recursive: true });
  const want = ['cpu', 'memory', 'pids'];
  for (const dir of [root, parent]) {
    const enabled = readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').trim().split(/\s+/);
    const missing = want.filter((c) => !enabled.includes(c));
    if (missing.length > 0) writeFileSync(join(dir, 'cgroup.subtree_control'), missing.map((c) => `+${c}`).join(' '));
  }
}

function writeIfPresent(file: string, value: string): void {
  if (existsSync(file)) writeFileSync(file, value);
}

function counterIn(file: string, key: string): number {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * `hostplane/<name>` (the instance id and its agent's key) in each hierarchy: memory (no swap beyond it), CPU quota and
 * a pids limit.
 * The workload joins it before it runs anything (see ProcessSandbox), so no child escapes.
 */
export class InstanceCgroup {
  constructor(
    private readonly layout: CgroupLayout,
    readonly name: string,
  ) {}

  /** One directory per hierarchy (v2: one); the workload's wrapper writes its pid into each `cgroup.procs`. */
  get dirs(): string[] {
    if (this.layout.version === 2) return [join(this.layout.root, 'hostplane', this.name)];
    return V1_CONTROLLERS.map((c) => join(this.layout.root, c, 'hostplane', this.name));
  }

  apply(limits: CgroupLimits): void {
    const quota = limits.cpuCores === undefined ? null : Math.max(1000, Math.round(limits.cpuCores * CPU_PERIOD_US));
    if (this.layout.version === 2) {
      enableV2Controllers(this.layout.root);
      const [dir] = this.dirs as [string];
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), limits.memoryBytes === undefined ? 'max' : String(limits.memoryBytes));
      writeIfPresent(join(dir, 'memory.swap.max'), limits.memoryBytes === undefined ? 'max' : '0');
      writeFileSync(join(dir, 'cpu.max'), quota === null ? `max ${CPU_PERIOD_US}` : `${quota} ${CPU_PERIOD_US}`);
      writeFileSync(join(dir, 'pids.max'), String(limits.pidsMax));
      return;
    }
    const [memory, pids, cpu] = this.dirs as [string, string, string];
    for (const dir of this.dirs) mkdirSync(dir, { recursive: true });
    const memoryLimit = limits.memoryBytes === undefined ? '-1' : String(limits.memoryBytes);
    // memsw (memory + swap) must stay >= memory: raise it before lowering memory, then pin it equal.
    writeIfPresent(join(memory, 'memory.memsw.limit_in_bytes'), '-1');
    writeFileSync(join(memory, 'memory.limit_in_bytes'), memoryLimit);
    writeIfPresent(join(memory, 'memory.memsw.limit_in_bytes'), memoryLimit);
    writeFileSync(join(pids, 'pids.max'), String(limits.pidsMax));
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), quota === null ? '-1' : String(quota));
  }

  /** Every process in the group (the pids hierarchy on v1). */
  pids(): number[] {
    const dir = this.layout.version === 2 ? this.dirs[0] : this.dirs[1];
    try {
      return readFileSync(join(dir ?? '', 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }

  /** How many times the kernel's OOM killer killed a process of this group. */
  oomKills(): number {
    const [dir] = this.dirs as [string];
    return this.layout.version === 2
      ? counterIn(join(dir, 'memory.events'), 'oom_kill')
      : counterIn(join(dir, 'memory.oom_control'), 'oom_kill');
  }

  /** Processes currently counted against pids.max, and whether a fork was ever refused by it. */
  pidsLimitHit(): boolean {
    const dir = this.layout.version === 2 ? this.dirs[0] : this.dirs[1];
    return counterIn(join(dir ?? '', 'pids.events'), 'max') > 0;
  }

  /** SIGKILLs everything left in the group: processes the workload left behind when its main process ended. */
  killAll(): void {
    for (let round = 0; round < 3; round++) {
      const left = this.pids();
      if (left.length === 0) return;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
    }
  }

  /**
   * Kills what is left, waits for the kernel to empty the group (a killed process leaves it when reaped), then removes
   * it.
   */
  async remove(): Promise<void> {
    this.killAll();
    for (let i = 0; i < 50 && this.pids().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    for (const dir of this.dirs) {
      try {
        rmdirSync(dir);
      } catch {
        // Absent, or still busy: the next apply reuses it.
      }
    }
  }
}
