import { checkMachineRef, checkOwner, type Machine, type MachineSnapshot } from '@hostplane/protocol';
import { CommandResult } from '../exec/run-command';
import { HostExec } from '../illumos/host-exec';
import {
  parseServerInfo,
  parseSnapshotCreated,
  parseSnapshotList,
  parseUserList,
  parseVmInfoList,
  PrlServerInfo,
  PrlUser,
} from './prl-parsers';

export interface PrlHostOptions {
  exec: HostExec;
  /** The macOS user owning the VMs; commands run as that user (`sudo -n -u`) when the agent is root. */
  owner: string | null;
  /** Whether the agent runs as root (injected by tests; `process.getuid() === 0` otherwise). */
  agentIsRoot?: boolean;
  /** The Parallels service log (`/Library/Logs/parallels.log` on a Mac). */
  serviceLogFile?: string;
  /** macOS guests allowed at once when the agent's setting says so; null: the licence's own term. */
  macosVmLimit?: number | null;
}

export type StopMode = 'acpi' | 'kill' | 'drop-state';

/**
 * Parallels Desktop's command line tools through the agent's one exec layer: argv arrays, the
 * layer's timeout (3 minutes by default) and output cap, every VM reference checked first. VMs
 * belong to a macOS user: an agent running as root acts as that user, as Parallels refuses root's
 * view of another user's VMs.
 */
export class PrlHost {
  readonly exec: HostExec;
  readonly serviceLogFile: string;
  readonly macosVmLimit: number | null;
  private readonly agentIsRoot: boolean;

  constructor(private readonly options: PrlHostOptions) {
    this.exec = options.exec;
    this.agentIsRoot = options.agentIsRoot ?? process.getuid?.() === 0;
    this.serviceLogFile = options.serviceLogFile ?? '/Library/Logs/parallels.log';
    this.macosVmLimit = options.macosVmLimit ?? null;
    if (options.owner !== null) checkOwner('owner', options.owner);
  }

  /** The argv of a tool run as `owner` (the host's configured owner when null). */
  argv(tool: 'prlctl' | 'prlsrvctl', args: readonly string[], owner: string | null = null): [string, ...string[]] {
    const user = owner === null ? this.options.owner : checkOwner('owner', owner);
    return this.agentIsRoot && user !== null ? ['sudo', '-n', '-u', user, tool, ...args] : [tool, ...args];
  }

  private run(
    tool: 'prlctl' | 'prlsrvctl',
    args: readonly string[],
    options: { owner?: string | null; timeoutMs?: number; okExitCodes?: readonly number[] } = {},
  ): Promise<CommandResult> {
    return this.exec.run(this.argv(tool, args, options.owner ?? null), {
      timeoutMs: options.timeoutMs,
      okExitCodes: options.okExitCodes,
    });
  }

  prlctl(args: readonly string[], options: { owner?: string | null; timeoutMs?: number } = {}): Promise<CommandResult> {
    return this.run('prlctl', args, options);
  }

  async machines(owner: string | null = null): Promise<Machine[]> {
    return parseVmInfoList((await this.prlctl(['list', '-a', '-i', '--json'], { owner })).stdout);
  }

  /** One VM, or null when the host has none by that UUID or name. */
  async machine(ref: string, owner: string | null = null): Promise<Machine | null> {
    checkMachineRef('vm', ref);
    const bare = ref.replace(/^\{|\}$/g, '');
    return (await this.machines(owner)).find((m) => m.id === bare || m.name === ref) ?? null;
  }

  async clone(
    source: string,
    name: string,
    options: { linked?: boolean; template?: boolean; owner?: string | null } = {},
  ): Promise<void> {
    const args = ['clone', checkMachineRef('source', source), '--name', checkMachineRef('name', name)];
    if (options.linked) args.push('--linked');
    if (options.template) args.push('--template');
    await this.prlctl(args, { owner: options.owner, timeoutMs: 30 * 60_000 });
  }

  async set(ref: string, flags: readonly string[], owner: string | null = null): Promise<void> {
    await this.prlctl(['set', checkMachineRef('vm', ref), ...flags], { owner });
  }

  async start(ref: string, owner: string | null = null): Promise<void> {
    await this.prlctl(['start', checkMachineRef('vm', ref)], { owner });
  }

  /** `acpi` asks the guest to shut down and waits (bounded by `timeoutMs`); `kill` powers off. */
  async stop(ref: string, mode: StopMode, options: { owner?: string | null; timeoutMs?: number } = {}): Promise<void> {
    const args = ['stop', checkMachineRef('vm', ref)];
    if (mode === 'kill') args.push('--kill');
    if (mode === 'drop-state') args.push('--drop-state');
    await this.prlctl(args, options);
  }

  async delete(ref: string, owner: string | null = null): Promise<void> {
    await this.prlctl(['delete', checkMachineRef('vm', ref)], { owner });
  }

  /** The argv of `prlctl exec <vm> <command…>` (guest tools run it; exit status is the command's). */
  execArgv(ref: string, command: readonly string[], owner: string | null = null): [string, ...string[]] {
    return this.argv('prlctl', ['exec', checkMachineRef('vm', ref), ...command], owner);
  }

  /** The argv of `prlctl enter <vm>`: a root shell in the guest, for a pseudo-terminal. */
  enterArgv(ref: string, owner: string | null = null): [string, ...string[]] {
    return this.argv('prlctl', ['enter', checkMachineRef('vm', ref)], owner);
  }

  async snapshots(ref: string, owner: string | null = null): Promise<MachineSnapshot[]> {
    return parseSnapshotList(
      (await this.prlctl(['snapshot-list', checkMachineRef('vm', ref), '--json'], { owner })).stdout,
    );
  }

  async createSnapshot(
    ref: string,
    name: string,
    description: string | null,
    owner: string | null = null,
  ): Promise<string> {
    const args = ['snapshot', checkMachineRef('vm', ref), '-n', name];
    if (description) args.push('-d', description);
    return parseSnapshotCreated((await this.prlctl(args, { owner })).stdout);
  }

  async serverInfo(): Promise<PrlServerInfo> {
    return parseServerInfo((await this.run('prlsrvctl', ['info', '--json'])).stdout);
  }

  async users(): Promise<PrlUser[]> {
    return parseUserList((await this.run('prlsrvctl', ['user', 'list', '--json'])).stdout);
  }
}
