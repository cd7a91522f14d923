import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CommandResult, runCommand } from '../exec/run-command';

export interface HostExecOptions {
  /**
   * Prepended to privileged commands, e.g. `['pfexec']` (RBAC profile) or `[]` when the agent holds the rights itself.
   */
  privilege: readonly string[];
  timeoutMs: number;
  maxOutputBytes: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The illumos tools, run through the agent's one exec layer with the configured privilege
 * prefix. Reads that need no privilege (`zoneadm list`, `kstat`) still take it: a restricted
 * zone-admin profile may be all the agent has.
 */
export class HostExec {
  private readonly tools = new Map<string, boolean>();

  constructor(readonly options: HostExecOptions) {}

  /** Whether an optional tool (`zadm`) is on the PATH, looked up once: nothing is run to find out. */
  has(tool: string): boolean {
    let found = this.tools.get(tool);
    if (found === undefined) {
      const dirs = (this.options.env?.PATH ?? process.env.PATH ?? '').split(delimiter).filter(Boolean);
      found = dirs.some((dir) => {
        try {
          accessSync(join(dir, tool), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
      this.tools.set(tool, found);
    }
    return found;
  }

  run(
    argv: readonly [string, ...string[]],
    overrides: { timeoutMs?: number; okExitCodes?: readonly number[] } = {},
  ): Promise<CommandResult> {
    const full = [...this.options.privilege, ...argv] as [string, ...string[]];
    return runCommand(full, {
      timeoutMs: overrides.timeoutMs ?? this.options.timeoutMs,
      maxOutputBytes: this.options.maxOutputBytes,
      env: this.options.env,
      okExitCodes: overrides.okExitCodes,
    });
  }

  async stdout(argv: readonly [string, ...string[]], overrides: { timeoutMs?: number } = {}): Promise<string> {
    return (await this.run(argv, overrides)).stdout;
  }

  /** The argv for a long-lived child (a console, a `zfs send` stream) with the prefix applied. */
  privileged(argv: readonly [string, ...string[]]): [string, ...string[]] {
    return [...this.options.privilege, ...argv] as [string, ...string[]];
  }

  /** A long-lived privileged child whose output the caller reads (`zadm vnc`); the caller ends it. */
  spawnPiped(argv: readonly [string, ...string[]]): ChildProcess {
    const [file, ...args] = this.privileged(argv);
    return spawn(file, args, { env: this.options.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
  }
}

/**
 * A privileged command whose stdin or stdout is a file (`zfs send > file`, `zfs receive < file`):
 * through the one exec layer, with stderr's tail kept for the error.
 */
export async function runWithFiles(
  exec: HostExec,
  argv: readonly [string, ...string[]],
  files: { stdinFd?: number; stdoutFd?: number },
  timeoutMs: number,
): Promise<void> {
  await runCommand(exec.privileged(argv), {
    timeoutMs,
    env: exec.options.env,
    inputFd: files.stdinFd,
    stdoutFd: files.stdoutFd,
  });
}
