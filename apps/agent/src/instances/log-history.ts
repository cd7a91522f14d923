import { createReadStream, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';

/** A part of an output log: a time window and/or the last `lines` lines. */
export interface LogRange {
  since?: Date;
  until?: Date;
  lines?: number;
}

/** How precisely `since`/`until` apply: per line (the engine stamps each line) or per rotated file. */
export type TimePrecision = 'line' | 'file';

export interface LogHistory {
  body: Readable;
  timePrecision: TimePrecision;
}

export interface LogsCleared {
  files_removed: number;
  bytes_removed: number;
}

interface LogPart {
  path: string;
  /** When its first line may have been written (the previous file's last write), null for the oldest. */
  from: number | null;
  /** Its last write. */
  to: number;
}

/** `output.log.N` rotated files of `file`, oldest (highest N) first. */
function rotatedFiles(file: string): string[] {
  const name = basename(file);
  let entries: string[];
  try {
    entries = readdirSync(dirname(file));
  } catch {
    return [];
  }
  const pattern = new RegExp(`^${name.replace(/[.]/g, '\\.')}\\.(\\d+)$`);
  return entries
    .map((e) => ({ e, n: Number(pattern.exec(e)?.[1] ?? NaN) }))
    .filter((x) => Number.isInteger(x.n))
    .sort((a, b) => b.n - a.n)
    .map((x) => join(dirname(file), x.e));
}

/**
 * The rotated files then the current one, with the time window each covers. The workload writes
 * its output straight to the file (no agent in the path), so lines carry no time of their own:
 * a file's window runs from the previous file's last write to its own.
 */
function logParts(file: string): LogPart[] {
  const parts: LogPart[] = [];
  let previous: number | null = null;
  for (const path of [...rotatedFiles(file), file]) {
    let mtime: number;
    try {
      mtime = statSync(path).mtimeMs;
    } catch {
      continue;
    }
    parts.push({ path, from: previous, to: mtime });
    previous = mtime;
  }
  return parts;
}

function inWindow(part: LogPart, range: LogRange): boolean {
  if (range.since && part.to < range.since.getTime()) return false;
  if (range.until && part.from !== null && part.from > range.until.getTime()) return false;
  return true;
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  let last = 0x0a;
  try {
    for await (const chunk of createReadStream(path)) {
      const buf = chunk as Buffer;
      for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) n++;
      if (buf.length > 0) last = buf[buf.length - 1] as number;
    }
  } catch {
    return 0;
  }
  return last === 0x0a ? n : n + 1;
}

/** Each file's bytes, a missing final newline added so files never glue two lines together. */
async function* concatenate(paths: string[]): AsyncGenerator<Buffer> {
  for (const path of paths) {
    let last = 0x0a;
    try {
      for await (const chunk of createReadStream(path)) {
        const buf = chunk as Buffer;
        if (buf.length === 0) continue;
        last = buf[buf.length - 1] as number;
        yield buf;
      }
    } catch (err) {
      // Rotated away between listing and reading: its lines are in the next file.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (last !== 0x0a) yield Buffer.from('\n');
  }
}

/** Drops the first `skip` lines of a byte stream. */
export function skipLines(skip: number): Transform {
  let left = skip;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let start = 0;
      while (left > 0 && start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1) return done();
        start = nl + 1;
        left--;
      }
      done(null, start < chunk.length ? chunk.subarray(start) : undefined);
    },
  });
}

/** A tty's CRLF line ends as LF (a CR split across chunks is held back). */
export function crlfToLf(): Transform {
  let heldCr = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let text = (heldCr ? '\r' : '') + chunk.toString('latin1');
      heldCr = text.endsWith('\r');
      if (heldCr) text = text.slice(0, -1);
      done(null, Buffer.from(text.replace(/\r\n/g, '\n'), 'latin1'));
    },
    flush(done) {
      done(null, heldCr ? Buffer.from('\r') : undefined);
    },
  });
}

/** The history of a log file the agent rotates (process driver): rotated files then the current one, oldest first. */
export async function fileLogHistory(file: string, range: LogRange): Promise<LogHistory> {
  const paths = logParts(file)
    .filter((p) => inWindow(p, range))
    .map((p) => p.path);
  let skip = 0;
  if (range.lines !== undefined) {
    let total = 0;
    for (const path of paths) total += await countLines(path);
    skip = Math.max(0, total - range.lines);
  }
  const body = Readable.from(concatenate(paths));
  return { body: skip > 0 ? body.pipe(skipLines(skip)) : body, timePrecision: 'file' };
}

/**
 * Removes the rotated files and truncates the current one (the workload keeps its O_APPEND
 * descriptor, so its next line starts the new log at 0).
 */
export function clearLogFile(file: string): LogsCleared {
  let files = 0;
  let bytes = 0;
  for (const path of rotatedFiles(file)) {
    try {
      bytes += statSync(path).size;
      rmSync(path, { force: true });
      files++;
    } catch {
      // Gone already.
    }
  }
  try {
    bytes += statSync(file).size;
    truncateSync(file, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { files_removed: files, bytes_removed: bytes };
}

/** Json-file rotated siblings of a Docker log (`<id>-json.log.1`, compressed `.1.gz`). */
export function clearDockerLogFile(logPath: string): LogsCleared {
  const result = clearLogFile(logPath);
  const name = basename(logPath);
  let entries: string[] = [];
  try {
    entries = readdirSync(dirname(logPath));
  } catch {
    return result;
  }
  for (const e of entries) {
    if (!e.startsWith(`${name}.`) || !/\.\d+\.gz$/.test(e)) continue;
    const path = join(dirname(logPath), e);
    try {
      result.bytes_removed += statSync(path).size;
      rmSync(path, { force: true });
      result.files_removed++;
    } catch {
      // Gone already.
    }
  }
  return result;
}
