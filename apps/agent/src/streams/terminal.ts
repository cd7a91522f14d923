import { AgentError } from '../errors/agent-error';
import { accessSync, constants, existsSync } from 'node:fs';
import os from 'node:os';
import * as pty from 'node-pty';
import { STREAM_INITIAL_CREDIT, StreamClose } from '@hostplane/protocol';
import type { AgentLogger } from '../logging/logger';
import { OutboundCredit } from './outbound-credit';

export interface StreamSink {
  sendStreamData(streamId: string, data: Buffer): void;
  sendStreamCredit(streamId: string, bytes: number): void;
  sendStreamClose(frame: StreamClose): void;
}

export interface TerminalOptions {
  /** From the agent config; null means $SHELL, then /bin/sh. */
  shell: string | null;
  log: AgentLogger;
}

export class TerminalOpenError extends AgentError {}

/** How long output may wait for credit after the shell exited before the stream is closed anyway. */
const EXIT_FLUSH_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 2000;

/**
 * A login shell on the host in a pty, relayed over one tunnel stream. Output obeys the hub's
 * credit (the pty is paused while none is left); input is credited back once written.
 */
export class TerminalStream {
  /** Credit this side granted the hub for input, announced in the open ack. */
  readonly inputCredit = STREAM_INITIAL_CREDIT;
  private inputOutstanding = 0;
  private readonly output: OutboundCredit;
  private exitCode: number | null = null;
  private ended = false;
  private exitFlushTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly streamId: string,
    private readonly term: pty.IPty,
    outputCredit: number,
    private readonly sink: StreamSink,
    private readonly log: AgentLogger,
    private readonly onEnded: () => void,
  ) {
    this.output = new OutboundCredit(outputCredit, {
      send: (chunk) => sink.sendStreamData(streamId, chunk),
      blocked: () => term.pause(),
      drained: () => {
        if (this.exitCode === null) term.resume();
      },
    });
    term.onData((data: string | Buffer) =>
      this.output.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : data),
    );
    term.onExit(({ exitCode, signal }) => {
      this.exitCode = signal ? 128 + signal : exitCode;
      this.log.info({ exit_code: this.exitCode }, 'terminal shell exited');
      this.exitFlushTimer = setTimeout(
        () => this.end('the shell exited; output the hub gave no credit for was dropped'),
        EXIT_FLUSH_TIMEOUT_MS,
      );
      this.closeIfFlushed();
    });
  }

  static open(
    streamId: string,
    size: { cols: number; rows: number },
    outputCredit: number,
    sink: StreamSink,
    options: TerminalOptions,
    onEnded: () => void,
  ): TerminalStream {
    const shell = options.shell ?? process.env.SHELL ?? '/bin/sh';
    try {
      accessSync(shell, constants.X_OK);
    } catch {
      throw new TerminalOpenError(
        'shell_unavailable',
        `the terminal shell ${shell} does not exist or is not executable (set terminal.shell in the agent config)`,
      );
    }
    const user = agentUser();
    const home = existsSync(user.homedir) ? user.homedir : '/';
    let term: pty.IPty;
    try {
      term = pty.spawn(shell, ['-l'], {
        name: 'xterm-256color',
        cols: size.cols,
        rows: size.rows,
        cwd: home,
        env: loginEnvironment(shell, user.username, home),
        encoding: null,
      });
    } catch (err) {
      throw new TerminalOpenError('spawn_failed', `starting ${shell} in a pty failed: ${(err as Error).message}`);
    }
    const log = options.log.child({ stream_id: streamId, pid: term.pid });
    log.info({ shell, cols: size.cols, rows: size.rows }, 'terminal opened');
    return new TerminalStream(streamId, term, outputCredit, sink, log, onEnded);
  }

  /** Input from the hub; returns false when the hub sent more than its credit allowed. */
  input(data: Buffer): boolean {
    if (this.ended) return true;
    this.inputOutstanding += data.length;
    const withinCredit = this.inputOutstanding <= this.inputCredit;
    this.term.write(data);
    this.inputOutstanding -= data.length;
    this.sink.sendStreamCredit(this.streamId, data.length);
    return withinCredit;
  }

  grantOutputCredit(bytes: number): void {
    this.output.grant(bytes);
    this.closeIfFlushed();
  }

  resize(cols: number, rows: number): void {
    if (this.exitCode === null) this.term.resize(cols, rows);
  }

  /** Ends the stream from this side without a close frame (the hub closed it, or the tunnel is gone). */
  terminate(reason: string): void {
    if (this.ended) return;
    this.log.info({ reason }, 'terminal closed');
    this.markEnded();
    this.killShell();
  }

  private closeIfFlushed(): void {
    if (this.exitCode !== null && this.output.pendingBytes === 0) this.end();
  }

  /** The shell is gone: tell the hub, with its exit code, after its output went out. */
  private end(reason?: string): void {
    if (this.ended) return;
    this.markEnded();
    const frame: StreamClose = { stream_id: this.streamId };
    if (this.exitCode !== null) frame.exit_code = this.exitCode;
    if (reason) frame.reason = reason;
    this.sink.sendStreamClose(frame);
  }

  private markEnded(): void {
    this.ended = true;
    if (this.exitFlushTimer) clearTimeout(this.exitFlushTimer);
    this.onEnded();
  }

  private killShell(): void {
    if (this.exitCode !== null) return;
    this.term.kill('SIGHUP');
    const timer = setTimeout(() => {
      if (this.exitCode === null) this.term.kill('SIGKILL');
    }, KILL_GRACE_MS);
    timer.unref();
  }
}

/** The agent's own account; a uid without a passwd entry (some containers) still gets a shell. */
function agentUser(): { username: string; homedir: string } {
  try {
    return os.userInfo();
  } catch {
    return { username: String(process.getuid?.() ?? 'unknown'), homedir: process.env.HOME ?? '/' };
  }
}

/** What a login on the console would have; nothing of the agent's own environment (its token) leaks in. */
function loginEnvironment(shell: string, username: string, home: string): Record<string, string> {
  return {
    HOME: home,
    USER: username,
    LOGNAME: username,
    SHELL: shell,
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    TERM: 'xterm-256color',
    LANG: process.env.LANG ?? 'C.UTF-8',
  };
}
