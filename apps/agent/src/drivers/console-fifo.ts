import { closeSync, constants, existsSync, openSync, writeSync } from 'node:fs';

/**
 * Writes console input to a workload's stdin FIFO without ever blocking the agent: the FIFO is
 * opened non-blocking for each write, and input is dropped when nothing reads it (no FIFO, no
 * reader) or the pipe is full (the workload does not read its stdin), rather than queued forever.
 */
export function writeToConsoleFifo(fifo: string, data: Buffer): void {
  if (!existsSync(fifo)) return;
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    writeSync(fd, data);
  } catch {
    // Full pipe: dropped, see above.
  } finally {
    closeSync(fd);
  }
}
