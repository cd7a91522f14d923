import type { InstanceStream } from '@hostplane/sdk';

const DETACH = 0x1d; // Ctrl-]

/**
 * Connects the local terminal to a console or shell: raw mode on a tty (keys go to the far side
 * as typed, Ctrl-C included), the window size sent on connect and on every SIGWINCH, Ctrl-]
 * detaches. Answers the exit code: the far side's `exit N`, else 0 on a normal close, 1 otherwise.
 */
export async function attachTerminal(stream: InstanceStream, options: { scrollback?: boolean } = {}): Promise<number> {
  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  stream.onOutput((chunk) => process.stdout.write(chunk));
  const ready = await stream.ready;
  if (options.scrollback) for (const line of ready.scrollback) process.stdout.write(`${line}\n`);
  const resize = () => {
    if (process.stdout.columns && process.stdout.rows) stream.resize(process.stdout.columns, process.stdout.rows);
  };
  if (raw) {
    stdin.setRawMode(true);
    resize();
    process.on('SIGWINCH', resize);
  }
  const onData = (data: Buffer) => {
    if (raw && data.includes(DETACH)) return stream.close();
    stream.write(data);
  };
  stdin.on('data', onData);
  // Piped input (`echo "say hi" | hpctl instances console …`): once it ends, give the answer a moment, then close.
  const onEnd = () => setTimeout(() => stream.close(), 500);
  if (!raw) stdin.once('end', onEnd);
  stdin.resume();
  const closed = await stream.closed;
  stdin.off('data', onData);
  stdin.off('end', onEnd);
  process.off('SIGWINCH', resize);
  if (raw) stdin.setRawMode(false);
  stdin.pause();
  const exit = /^exit (\d+)/.exec(closed.reason);
  if (exit) return Number(exit[1]);
  return closed.code === 1000 || closed.code === 1005 ? 0 : 1;
}
