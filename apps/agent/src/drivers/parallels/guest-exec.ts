import type { ChildProcess } from 'node:child_process';
import type { LogFollower } from '../../instances/instance-driver';

/** The channels of a `machine.exec` stream's frames (libs/protocol streams.ts). */
export const EXEC_CHANNEL = { stdout: 1, stderr: 2, end: 3 } as const;
const KILL_GRACE_MS = 2000;

export interface ExecEnd {
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  truncated: boolean;
}

/** One frame: `[channel u8][length u32 BE][bytes]`. */
export function execFrame(channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(channel, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * A running `prlctl exec` as a stream source: stdout and stderr framed apart, then an end frame
 * with the exit status. It stops the command (SIGTERM, then SIGKILL) when it outlives `timeoutMs`
 * or prints more than `maxOutputBytes`, and says so in the end frame.
 */
export function followExec(child: ChildProcess, limits: { timeoutMs: number; maxOutputBytes: number }): LogFollower {
  const dataListeners: ((chunk: Buffer) => void)[] = [];
  const closeListeners: ((reason: string) => void)[] = [];
  let output = 0;
  let timedOut = false;
  let truncated = false;
  let finished = false;
  let killTimer: NodeJS.Timeout | null = null;
  const emit = (chunk: Buffer) => dataListeners.forEach((l) => l(chunk));
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, limits.timeoutMs);
  const take = (channel: number) => (chunk: Buffer) => {
    if (truncated) return;
    const room = limits.maxOutputBytes - output;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    output += kept.length;
    if (kept.length > 0) emit(execFrame(channel, kept));
    if (chunk.length > room) {
      truncated = true;
      stop();
    }
  };
  child.stdout?.on('data', take(EXEC_CHANNEL.stdout));
  child.stderr?.on('data', take(EXEC_CHANNEL.stderr));
  const finish = (end: ExecEnd, reason: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    emit(execFrame(EXEC_CHANNEL.end, Buffer.from(JSON.stringify(end))));
    closeListeners.forEach((l) => l(reason));
  };
  child.on('error', (err) =>
    finish(
      { exit_code: null, signal: null, timed_out: false, truncated },
      `prlctl could not run: ${err.message}`.slice(0, 400),
    ),
  );
  child.on('close', (code, signal) =>
    finish(
      { exit_code: code, signal, timed_out: timedOut, truncated },
      code !== null ? `exit ${code}` : `ended by ${signal ?? 'a signal'}`,
    ),
  );
  return {
    onData: (l) => dataListeners.push(l),
    onClose: (l) => closeListeners.push(l),
    pause: () => {
      child.stdout?.pause();
      child.stderr?.pause();
    },
    resume: () => {
      child.stdout?.resume();
      child.stderr?.resume();
    },
    close: stop,
  };
}
