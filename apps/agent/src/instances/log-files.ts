import {
  closeSync,
  copyFileSync,
  existsSync,
  type FSWatcher,
  openSync,
  readSync,
  renameSync,
  Stats,
  statSync,
  truncateSync,
  utimesSync,
  watch,
} from 'node:fs';
import { basename, dirname } from 'node:path';

export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_KEEP = 3;
export const LOG_ROTATE_CHECK_MS = 10_000;

/** When an output log is rotated (agent config `logs.*`). */
export interface LogRotation {
  maxBytes: number;
  keep: number;
  checkMs: number;
}
export const DEFAULT_LOG_ROTATION: LogRotation = {
  maxBytes: LOG_MAX_BYTES,
  keep: LOG_KEEP,
  checkMs: LOG_ROTATE_CHECK_MS,
};
const TAIL_READ_BYTES = 4 * 1024 * 1024;
const FALLBACK_POLL_MS = 100;
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Size rotation of a file a workload writes through an inherited O_APPEND descriptor: copy, then
 * truncate, so the workload keeps writing without reopening (a few bytes written during the copy
 * may be lost, the price of not restarting it).
 */
export function rotateIfLarge(file: string, maxBytes = LOG_MAX_BYTES, keep = LOG_KEEP): boolean {
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch {
    return false;
  }
  if (stat.size <= maxBytes) return false;
  for (let i = keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  copyFileSync(file, `${file}.1`);
  // The copy keeps the time of its last line: log downloads select rotated files by it.
  utimesSync(`${file}.1`, stat.atime, stat.mtime);
  truncateSync(file, 0);
  return true;
}

function readRange(file: string, start: number, end: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, end - start));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start + off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The last `n` lines of a log, reaching into the newest rotated file when the current one is short. */
export function tailLines(file: string, n: number): string[] {
  const lines: string[] = [];
  for (const f of [file, `${file}.1`]) {
    if (!existsSync(f)) continue;
    const size = fileSize(f);
    const text = readRange(f, Math.max(0, size - TAIL_READ_BYTES), size).toString('utf8');
    const own = text.split('\n');
    if (own[own.length - 1] === '') own.pop();
    lines.unshift(...own);
    if (lines.length >= n) break;
  }
  return lines.slice(Math.max(0, lines.length - n));
}

/**
 * Follows a growing file as it is written: the kernel's file-change notifications on its
 * directory (inotify here, event ports on illumos, via `fs.watch`) wake a read of what was
 * appended, so output reaches a console within milliseconds and nothing runs while the file is
 * quiet. The writer (the workload) needs no agent in its path, so it outlives the agent. A
 * truncation (rotation, clear) restarts from 0. Where the platform has no watcher, it falls back
 * to reading every 100 ms.
 */
export class FileFollower {
  private offset: number;
  private watcher: FSWatcher | null = null;
  private fallbackTimer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private paused = false;
  private closed = false;
  private readonly dataListeners: ((chunk: Buffer) => void)[] = [];
  private readonly closeListeners: ((reason: string) => void)[] = [];
  private readonly pending: Buffer[] = [];

  constructor(
    private readonly file: string,
    options: { fromStart?: boolean; offset?: number; prefix?: Buffer } = {},
  ) {
    this.offset = options.offset ?? (options.fromStart ? 0 : fileSize(file));
    if (options.prefix && options.prefix.length > 0) this.pending.push(options.prefix);
    const name = basename(file);
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.schedule();
      });
      this.watcher.on('error', () => this.fallBackToPolling());
    } catch {
      this.fallBackToPolling();
    }
    this.schedule();
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
    this.schedule();
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    if (this.fallbackTimer) clearInterval(this.fallbackTimer);
    for (const l of this.closeListeners) l(reason);
  }

  /** Reads what the writer left (its last lines), then closes; a paused follower closes without waiting for credit. */
  closeAfterDrain(reason: string): void {
    if (!this.paused) this.read(Number.POSITIVE_INFINITY);
    this.close(reason);
  }

  private fallBackToPolling(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.closed || this.fallbackTimer) return;
    this.fallbackTimer = setInterval(() => this.schedule(), FALLBACK_POLL_MS);
    this.fallbackTimer.unref();
  }

  /** One read per turn of the event loop, however many notifications arrived meanwhile. */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.read(1)) this.schedule();
    });
  }

  /** Emits up to `chunks` reads of appended bytes; true when more is waiting. */
  private read(chunks: number): boolean {
    if (this.closed || this.paused || this.dataListeners.length === 0) return false;
    while (this.pending.length > 0) this.emit(this.pending.shift() as Buffer);
    for (let i = 0; i < chunks && !this.paused; i++) {
      const size = fileSize(this.file);
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return false;
      const chunk = readRange(this.file, this.offset, Math.min(size, this.offset + READ_CHUNK_BYTES));
      if (chunk.length === 0) return false;
      this.offset += chunk.length;
      this.emit(chunk);
    }
    return !this.paused;
  }

  private emit(chunk: Buffer): void {
    if (chunk.length > 0) for (const l of this.dataListeners) l(chunk);
  }
}
