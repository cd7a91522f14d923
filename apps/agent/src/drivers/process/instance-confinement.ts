import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { InstanceSpec } from '@hostplane/protocol';
import { InstanceCgroup } from '../../sandbox/cgroups';
import { ProcessSandbox } from '../../sandbox/process-sandbox';
import { giveDataTo, IdentityOptions, instanceIdentity } from '../../sandbox/sandbox-identity';
import type { InstancePaths, InstanceStore } from '../../instances/instance-store';
import { signalGroup } from './host-process';

/** How long a signal waits for a just-started confined workload to exist. */
const SIGNAL_TARGET_WAIT_MS = 2000;

/**
 * How the driver confines its instances (null: unconfined, only where no sandbox is possible and an admin allowed it).
 */
export interface SandboxSettings {
  sandbox: ProcessSandbox;
  identity: IdentityOptions;
  pidsLimit: number;
  diskCheckMs: number;
}

/** bwrap reports its workload's death by signal N as exit code 128 + N. */
export function signalOfStatus(code: number | null): NodeJS.Signals | null {
  if (code === null || code <= 128 || code > 128 + 31) return null;
  const found = Object.entries(osConstants.signals).find(([, n]) => n === code - 128);
  return found ? (found[0] as NodeJS.Signals) : null;
}

/** One instance's sandbox: its user, its cgroup, the confined argv, and how signals and exits go through bwrap. */
export class InstanceConfinement {
  private oomKillsAtStart = 0;
  private readonly cgroup: InstanceCgroup;

  constructor(
    readonly settings: SandboxSettings,
    private readonly store: InstanceStore,
    private readonly id: string,
    private readonly paths: InstancePaths,
  ) {
    this.cgroup = settings.sandbox.cgroup(id);
  }

  /** The argv of `argv` confined: its cgroup set up with the spec's limits and its root handed to its user first. */
  async command(
    spec: InstanceSpec,
    mountAt: '/home/container' | '/mnt/server',
    env: Record<string, string>,
    argv: readonly [string, ...string[]],
  ): Promise<[string, ...string[]]> {
    const { sandbox, identity: options, pidsLimit } = this.settings;
    const identity = instanceIdentity(this.store, this.id, options);
    await giveDataTo(this.paths.data, identity);
    const { memory_bytes: memoryBytes, cpu_cores: cpuCores, pids_limit: pids } = spec.resources;
    this.cgroup.apply({ memoryBytes, cpuCores, pidsMax: pids ?? pidsLimit });
    this.oomKillsAtStart = this.cgroup.oomKills();
    return sandbox.command({
      id: this.id,
      identity,
      dataDir: this.paths.data,
      mountAt,
      envFile: join(this.paths.root, 'sandbox.env'),
      env,
      cgroup: this.cgroup,
      argv,
    });
  }

  /** After an agent restart: OOM kills of earlier runs are not this run's. */
  adopted(): void {
    this.oomKillsAtStart = this.cgroup.oomKills();
  }

  /**
   * A signal other than SIGKILL goes to the workload's processes only: bwrap's monitor (`pid`)
   * would die of it at once and report the signal instead of the workload's own exit.
   */
  async signal(pid: number, signal: NodeJS.Signals, stillRunning: () => boolean): Promise<void> {
    if (signal === 'SIGKILL') {
      signalGroup(pid, signal);
      this.cgroup.killAll();
      return;
    }
    // Right after a start the workload may not exist yet (only bwrap's monitor and init): a signal now would reach
    // nobody.
    const deadline = Date.now() + SIGNAL_TARGET_WAIT_MS;
    let members = this.cgroup.pids();
    while (members.length < 3 && Date.now() < deadline && stillRunning()) {
      await new Promise((r) => setTimeout(r, 20));
      members = this.cgroup.pids();
    }
    for (const member of members) {
      if (member === pid) continue;
      try {
        process.kill(member, signal);
      } catch {
        // Exited meanwhile.
      }
    }
  }

  /** The instance ends with its main process, as a container does: nothing it started lives on. */
  ended(): void {
    this.cgroup.killAll();
  }

  /** Why the kernel ended the workload when a cgroup limit explains it, else null. */
  limitExitReason(memoryBytes: number | undefined): string | null {
    if (this.cgroup.oomKills() > this.oomKillsAtStart)
      return `killed by the kernel: out of memory (its limit is ${memoryBytes ?? 'unset'} bytes)`;
    return null;
  }
}
