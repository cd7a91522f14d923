import { ChildProcess, spawn } from 'node:child_process';

export interface RunCommandOptions {
  /** Killed with SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
  /** Largest stdout accepted; more kills the command (default 4 MiB). */
  maxOutputBytes?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that count as success besides 0 (e.g. `systemctl is-active` answers 3 for inactive). */
  okExitCodes?: readonly number[];
  /** Send stdout and stderr to this descriptor (e.g. a log file) instead of capturing them. */
  outputFd?: number;
  /** Send only stdout to this descriptor (a data stream such as `zfs send`); stderr is still kept for the error. */
  stdoutFd?: number;
  /** Read stdin from this descriptor (e.g. `zfs receive` from a file); otherwise stdin is closed. */
  inputFd?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export type CommandFailure = 'exit' | 'timeout' | 'output_limit' | 'spawn';

const STDERR_TAIL_BYTES = 4096;

/** A host command that did not succeed; the message names the command, how it failed and the tail of its stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly failure: CommandFailure,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string,
    detail: string,
  ) {
    super(`"${argv.join(' ')}" ${detail}${stderrTail ? `: ${stderrTail.trim()}` : ''}`);
    this.name = 'CommandError';
  }
}

/**
 * The one way the agent runs a host command: an argv array (never a shell string), a timeout, a
 * cap on output, and an error that says what happened.
 */
export function runCommand(
  argv: readonly [string, ...string[]],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxOutputBytes = options.maxOutputBytes ?? 4 * 1024 * 1024;
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const output = options.outputFd ?? 'pipe';
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.inputFd ?? 'ignore', options.stdoutFd ?? output, output],
      shell: false,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = Buffer.alloc(0);
    let failure: { kind: CommandFailure; detail: string } | null = null;

    const fail = (kind: CommandFailure, detail: string) => {
      if (failure) return;
      failure = { kind, detail };
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail('timeout', `timed out after ${timeoutMs} ms`), timeoutMs);

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutputBytes) return fail('output_limit', `printed more than ${maxOutputBytes} bytes`);
      stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > STDERR_TAIL_BYTES)
        stderrTail = stderrTail.subarray(stderrTail.length - STDERR_TAIL_BYTES);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = err.code === 'ENOENT' ? ' (not installed or not on PATH)' : '';
      reject(new CommandError(argv, 'spawn', null, null, '', `cannot be run: ${err.code ?? err.message}${hint}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = stderrTail.toString('utf8');
      if (failure) return reject(new CommandError(argv, failure.kind, code, signal, tail, failure.detail));
      const out = { stdout: Buffer.concat(stdout).toString('utf8'), stderr: tail, exitCode: code ?? -1 };
      if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) return resolve(out);
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new CommandError(argv, 'exit', code, signal, tail, how));
    });
  });
}

export interface SupervisedSpawnOptions {
  cwd: string;
  env: Record<string, string>;
  /** Descriptors for stdin, stdout and stderr, inherited by the child (files and FIFOs that outlive the agent). */
  stdio: [number, number, number];
}

/**
 * A long-running workload (an instance's process): an argv array, no shell of ours, in its own
 * process group so that it can outlive an agent restart and be signalled as a whole.
 */
export function spawnSupervised(argv: readonly [string, ...string[]], options: SupervisedSpawnOptions): ChildProcess {
  const [file, ...args] = argv;
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: options.stdio,
    detached: true,
    shell: false,
  });
  child.unref();
  return child;
}

/**
 * A host command whose output is read as it comes and that runs until it ends or is killed (an
 * event monitor): an argv array, no shell, stdin closed, stdout piped, stderr kept for the log.
 */
export function spawnFollower(argv: readonly [string, ...string[]], env?: NodeJS.ProcessEnv): ChildProcess {
  const [file, ...args] = argv;
  return spawn(file, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
}
