import { closeSync, copyFileSync, existsSync, openSync, readSync, renameSync, Stats, statSync, truncateSync, utimesSync } from 'node:fs';
import type { LogFollower } from '../drivers/driver';

export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_KEEP = 3;
export const LOG_ROTATE_CHECK_MS = 10_000;

/** When an output log is rotated (agent config `logs.*`). */
export interface LogRotation {
  maxBytes: number;
  keep: number;
  checkMs: number;
}
export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: LOG_MAX_BYTES, keep: LOG_KEEP, checkMs: LOG_ROTATE_CHECK_MS };
const TAIL_READ_BYTES = 4 * 1024 * 1024;
const POLL_MS = 100;

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

/** Follows a growing file by polling (works on every filesystem); a truncation restarts from 0. */
export class FileFollower implements LogFollower {
  private offset: number;
  private timer: NodeJS.Timeout | null = null;
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
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
    setImmediate(() => this.poll());
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.poll();
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const l of this.closeListeners) l(reason);
  }

  private poll(): void {
    if (this.closed || this.paused || this.dataListeners.length === 0) return;
    while (this.pending.length > 0) this.emit(this.pending.shift() as Buffer);
    const size = fileSize(this.file);
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return;
    const end = Math.min(size, this.offset + 256 * 1024);
    const chunk = readRange(this.file, this.offset, end);
    this.offset += chunk.length;
    this.emit(chunk);
  }

  private emit(chunk: Buffer): void {
    if (chunk.length > 0) for (const l of this.dataListeners) l(chunk);
  }
}
