import { constants } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import archiver from 'archiver';

/** One member of a zip being written: a directory, a regular file read from disk, or a link. */
export type ZipMember =
  | { kind: 'directory'; name: string; mode: number; mtime: Date }
  | { kind: 'file'; name: string; mode: number; mtime: Date; abs: string; size: number; verify?: (fd: number) => void }
  | { kind: 'symlink'; name: string; mode: number; mtime: Date; target: string };

const READ_CHUNK = 64 * 1024;
// O_NOFOLLOW | O_NONBLOCK: a link or a fifo swapped in since the walk neither redirects nor blocks the read.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * A zip archive generated while it is read, by archiver (zip-stream): members are queued as the
 * walk finds them, a file is opened only when the archive reaches it, and read only as fast as
 * the consumer takes the output, so memory stays at a read chunk plus zlib's window (and the
 * central directory's records). ZIP64 records are written where a size, an offset or the member
 * count needs them.
 */
export async function* zipStream(members: AsyncIterable<ZipMember>): AsyncGenerator<Buffer> {
  const archive = archiver('zip', { zlib: { level: 6 } });
  const opened = new Set<FileHandle>();
  let stopped = false;
  archive.on('warning', (err: Error) => archive.destroy(err));
  const feeding = (async () => {
    try {
      for await (const m of members) {
        if (stopped) return;
        const mode = m.mode & 0o7777;
        if (m.kind === 'directory')
          archive.append(Buffer.alloc(0), { name: `${m.name.replace(/\/+$/, '')}/`, mode, date: m.mtime });
        else if (m.kind === 'symlink') archive.symlink(m.name, m.target, mode);
        else archive.append(lazyFile(m.abs, m.verify, opened), { name: m.name, mode, date: m.mtime });
      }
      await archive.finalize();
    } catch (err) {
      archive.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of archive) yield chunk as Buffer;
  } finally {
    // The consumer went away (or the archive failed): stop the walk and close what is open.
    stopped = true;
    archive.abort();
    for (const h of opened) await h.close().catch(() => undefined);
    await feeding;
  }
}

/**
 * A file's bytes, opened at the first read (not when queued), checked to be the regular file inside the root that was
 * walked.
 */
function lazyFile(abs: string, verify: ((fd: number) => void) | undefined, opened: Set<FileHandle>): Readable {
  let handle: FileHandle | null = null;
  const buf = Buffer.alloc(READ_CHUNK);
  return new Readable({
    highWaterMark: READ_CHUNK,
    read() {
      void (async () => {
        if (!handle) {
          handle = await open(abs, READ_FLAGS);
          opened.add(handle);
          if (!(await handle.stat()).isFile()) throw new Error(`${abs} is no longer a regular file`);
          verify?.(handle.fd);
        }
        const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, null);
        this.push(bytesRead === 0 ? null : Buffer.from(buf.subarray(0, bytesRead)));
      })().catch((err: Error) => this.destroy(err));
    },
    destroy(err, done) {
      const h = handle;
      handle = null;
      if (!h) return done(err);
      opened.delete(h);
      h.close().then(
        () => done(err),
        () => done(err),
      );
    },
  });
}
