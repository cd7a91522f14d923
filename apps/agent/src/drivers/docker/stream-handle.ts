import type { Readable } from 'node:stream';
import type { ConsoleHandle } from '../driver';

/** A console (with `write`) or a log follower (without) over a readable from the engine. */
export function streamHandle(
  stream: Readable,
  write: ((data: Buffer) => void) | null,
  destroy: () => void,
): ConsoleHandle {
  let closed = false;
  const closeListeners: ((reason: string) => void)[] = [];
  const finish = (reason: string) => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l(reason);
  };
  stream.on('end', () => finish('the instance stopped'));
  stream.on('close', () => finish('the instance stopped'));
  stream.on('error', (err) => finish(`the engine stream failed: ${err.message}`));
  return {
    write: (data) => {
      if (!closed && write) write(data);
    },
    onData: (l) => stream.on('data', (c: Buffer) => l(c)),
    onClose: (l) => closeListeners.push(l),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    close: () => {
      destroy();
      finish('closed');
    },
  };
}
