import { spawn } from 'node:child_process';
import { CommandError, CommandResult, runCommand } from '../exec/run-command';

export interface HostExecOptions {
  /**
   * Prepended to privileged commands, e.g. `['pfexec']` (RBAC profile) or `[]` when the agent holds the rights itself.
   */
  privilege: readonly string[];
  timeoutMs: number;
  maxOutputBytes: number;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_HOST_EXEC: HostExecOptions = {
  privilege: ['pfexec'],
  timeoutMs: 120_000,
  maxOutputBytes: 16 * 1024 * 1024,
};

/**
 * The illumos tools, run through the agent's one exec layer with the configured privilege
 * prefix. Reads that need no privilege (`zoneadm list`, `kstat`) still take it: a restricted
 * zone-admin profile may be all the agent has.
 */
export class HostExec {
  constructor(readonly options: HostExecOptions = DEFAULT_HOST_EXEC) {}

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
}

/**
 * A privileged command whose stdin or stdout is a file (`zfs send > file`, `zfs receive < file`):
 * argv only, a timeout, stderr's tail kept for the error.
 */
export function runWithFiles(
  exec: HostExec,
  argv: readonly [string, ...string[]],
  files: { stdinFd?: number; stdoutFd?: number },
  timeoutMs: number,
): Promise<void> {
  const [file, ...args] = exec.privileged(argv);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: exec.options.env ?? process.env,
      stdio: [files.stdinFd ?? 'ignore', files.stdoutFd ?? 'ignore', 'pipe'],
      shell: false,
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(argv, 'spawn', null, null, '', `cannot be run: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new CommandError(
            argv,
            signal === 'SIGKILL' ? 'timeout' : 'exit',
            code,
            signal,
            stderr,
            code === null ? `was killed by ${signal}` : `exited with code ${code}`,
          ),
        );
    });
  });
}
