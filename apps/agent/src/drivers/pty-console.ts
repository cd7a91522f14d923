import * as pty from 'node-pty';
import type { ConsoleHandle } from './driver';

/**
 * A host tool attached to a guest on a pseudo-terminal: a zone console (`zlogin -C`) or shell
 * (`zlogin Z`), a VM shell (`prlctl enter`). These tools want a terminal for raw mode, and a
 * disconnect is the end of the tool, not of the zone or VM. `tool` names it in the close reason.
 * `reportsExit`: the tool's status is a shell's own (`zlogin Z`), so the close carries it (signals
 * as 128 + n, like the node terminal); a console's status (`zlogin -C`) only says how it detached.
 */
export function openPtyConsole(
  argv: [string, ...string[]],
  env: NodeJS.ProcessEnv | undefined,
  tool: string,
  size: { cols: number; rows: number } = { cols: 120, rows: 40 },
  options: { reportsExit?: boolean } = {},
): ConsoleHandle {
  const [file, ...args] = argv;
  const term = pty.spawn(file, args, {
    name: 'xterm-256color',
    cols: size.cols,
    rows: size.rows,
    env: (env ?? process.env) as Record<string, string>,
  });
  const dataListeners: ((chunk: Buffer) => void)[] = [];
  const closeListeners: ((reason: string, exitCode?: number) => void)[] = [];
  let closed = false;
  const finish = (reason: string, exitCode?: number) => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l(reason, exitCode);
  };
  term.onData((data: string | Buffer) => {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (const l of dataListeners) l(chunk);
  });
  term.onExit(({ exitCode, signal }) => {
    const status = signal ? 128 + signal : exitCode;
    finish(
      exitCode === 0 && !signal ? 'console closed' : `${tool} exited with code ${status}`,
      options.reportsExit ? status : undefined,
    );
  });
  return {
    write: (data) => {
      if (!closed) term.write(data.toString('utf8'));
    },
    onData: (l) => dataListeners.push(l),
    onClose: (l) => closeListeners.push(l),
    pause: () => term.pause(),
    resume: () => term.resume(),
    resize: (cols, rows) => {
      if (!closed) term.resize(Math.max(1, cols), Math.max(1, rows));
    },
    close: () => {
      if (closed) return;
      try {
        term.kill('SIGHUP');
      } catch {
        // Already gone.
      }
      finish('closed');
    },
  };
}
