import { createHash } from 'node:crypto';
import { chmodSync, constants, renameSync, rmSync, Stats } from 'node:fs';
import { FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupStore } from '../backups/backup-store';
import { sha256OfFile } from '../files/file-hash';
import type { InputTarget } from './input-target';
import { FileError, fileErrorFromErrno } from '../files/file-error';
import { InstanceFiles, lstatOrNull } from '../files/instance-files';
import { isSpecial } from '../files/instance-root';
import { assertOpenedInside } from '../files/pinned-dir';
import { archiveMembers } from '../files/archive-members';
import { placeFile, UploadStaging } from '../files/uploads';
import { zipStream } from '../files/zip-writer';

export interface OutputSource {
  readable: Readable;
  meta?: Record<string, string | number | boolean | null>;
}

/** Flags for reading a file the workload may swap under us: no link followed, no fifo blocking the open. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** How long a new stream of an upload waits for the previous one to finish closing. */
const UPLOAD_HANDOVER_MS = 2000;

/** The byte sources and sinks behind the file and backup streams. */
export class FileTransfers {
  /**
   * Staged uploads being written right now (two streams appending to one would interleave), each
   * with a promise of its closing. A client resuming at once after its connection dropped may
   * find the old stream still finishing: it waits a moment for it instead of being refused.
   */
  private readonly activeUploads = new Map<string, Promise<void>>();

  constructor(
    private readonly files: InstanceFiles,
    private readonly uploads: UploadStaging,
    private readonly backups: BackupStore,
  ) {}

  async openRead(instanceId: string, path: string, offset: number): Promise<OutputSource> {
    const root = this.files.root(instanceId);
    const resolved = root.resolve(path, { followLast: true });
    const st = resolved.stat;
    if (st?.isDirectory())
      throw new FileError('not_a_file', `"${path}" is a directory; download it as an archive instead`);
    if (!st || isSpecial(st))
      throw new FileError('special_file', `"${path}" is a device, fifo or socket; only regular files can be read`);
    const handle = await openOrFail(resolved.abs, READ_FLAGS, `reading "${path}"`);
    const fst = await handle.stat();
    try {
      assertOpenedInside(root, handle.fd, path);
      if (!fst.isFile() || fst.ino !== st.ino)
        throw new FileError('special_file', `"${path}" changed while it was opened; retry`);
    } catch (err) {
      await handle.close();
      throw err;
    }
    if (offset > fst.size) {
      await handle.close();
      throw new FileError('invalid_offset', `offset ${offset} is past the end of "${path}" (${fst.size} bytes)`);
    }
    return {
      readable: handle.createReadStream({ start: offset, highWaterMark: 64 * 1024 }),
      meta: { size_bytes: fst.size, modified_at: fst.mtime.toISOString() },
    };
  }

  /** A zip of `paths` under `base`; the paths are checked before the stream is acknowledged. */
  openArchive(instanceId: string, base: string, paths: readonly string[]): OutputSource {
    const root = this.files.root(instanceId);
    const baseDir = root.resolve(base, { followLast: true });
    if (!baseDir.stat?.isDirectory()) throw new FileError('not_a_directory', `"${base}" is not a directory`);
    for (const p of paths) {
      if (p === '.') continue;
      const { parent, name } = root.resolveParent(base === '.' ? p : `${base}/${p}`);
      if (!lstatOrNull(join(parent.abs, name)))
        throw new FileError('path_not_found', `"${p}" does not exist in "${base}"`);
    }
    return { readable: Readable.from(zipStream(archiveMembers(root, base, paths)), { objectMode: false }) };
  }

  async openBackupRead(instanceId: string, backupId: string): Promise<OutputSource> {
    const archive = this.backups.archivePath(instanceId, backupId);
    const handle = await open(archive, READ_FLAGS).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        throw new FileError(
          'backup_not_found',
          `backup ${backupId} of instance ${instanceId} is not stored on this host`,
        );
      throw fileErrorFromErrno(err, `reading backup ${backupId}`);
    });
    const size = (await handle.stat()).size;
    const sha256 = this.backups.info(instanceId, backupId)?.sha256 ?? (await sha256OfFile(archive));
    return { readable: handle.createReadStream({ highWaterMark: 64 * 1024 }), meta: { size_bytes: size, sha256 } };
  }

  /** file.write with `path`: a staging file that replaces the path atomically at eof. */
  async pathWriter(instanceId: string, path: string, overwrite: boolean, maxBytes: number): Promise<InputTarget> {
    const root = this.files.root(instanceId);
    const check = () => {
      const { parent, name } = root.resolveParent(path);
      const target = join(parent.abs, name);
      const existing = lstatOrNull(target);
      if (existing?.isDirectory()) throw new FileError('not_a_file', `"${path}" is a directory`);
      if (existing && isSpecial(existing))
        throw new FileError('special_file', `"${path}" is a device, fifo or socket; it cannot be written`);
      if (existing && !overwrite)
        throw new FileError('path_exists', `"${path}" already exists; pass overwrite to replace it`);
      return { parentAbs: parent.abs, name, existing, dirStat: parent.stat as Stats };
    };
    check();
    const staging = this.uploads.newWriteStaging(instanceId);
    const handle = await openOrFail(
      staging,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      `staging "${path}"`,
      0o600,
    );
    let written = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    return {
      write: async (chunk) => {
        if (written + chunk.length > maxBytes)
          throw new FileError('file_too_large', `"${path}" would exceed the ${maxBytes} bytes allowed for it`);
        await writeAll(handle, chunk, `writing "${path}"`);
        written += chunk.length;
      },
      finish: async () => {
        await handle.sync();
        await close();
        // Checked again: the tree may have changed (or be under restore) while the bytes arrived.
        this.files.root(instanceId);
        const { parentAbs, name, existing, dirStat } = check();
        chmodSync(staging, existing?.isFile() ? existing.mode & 0o7777 : 0o644);
        placeFile(staging, root, parentAbs, name, existing?.isFile() ? existing : dirStat);
        return written;
      },
      abandon: async () => {
        await close().catch(() => undefined);
        rmSync(staging, { force: true });
      },
    };
  }

  /** file.write with `upload_id`: appends at `offset`, which must be what is staged already. */
  async uploadWriter(instanceId: string, uploadId: string, offset: number, maxBytes: number): Promise<InputTarget> {
    this.files.root(instanceId);
    const key = `${instanceId}/${uploadId}`;
    const previous = this.activeUploads.get(key);
    if (previous) await Promise.race([previous, sleep(UPLOAD_HANDOVER_MS, undefined, { ref: false })]);
    if (this.activeUploads.has(key))
      throw new FileError('upload_in_progress', `upload ${uploadId} is being written by another stream`);
    const staged = this.uploads.uploadPath(instanceId, uploadId);
    this.uploads.ensureDir(instanceId);
    const current = this.uploads.stagedSize(instanceId, uploadId);
    if (offset !== current)
      throw new FileError(
        'offset_mismatch',
        `upload ${uploadId} has ${current} bytes staged; continue at offset ${current}, not ${offset}`,
      );
    if (current > maxBytes)
      throw new FileError(
        'file_too_large',
        `upload ${uploadId} already has ${current} bytes, more than the ${maxBytes} allowed`,
      );
    const handle = await openOrFail(
      staged,
      constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW,
      `staging upload ${uploadId}`,
      0o600,
    );
    let closed!: () => void;
    this.activeUploads.set(key, new Promise<void>((resolve) => (closed = resolve)));
    let size = current;
    let closing: Promise<void> | null = null;
    const close = () => {
      // What was written stays resumable: durable before anyone is told where to continue.
      closing ??= (async () => {
        try {
          await handle.sync().catch(() => undefined);
          await handle.close();
        } finally {
          this.activeUploads.delete(key);
          closed();
        }
      })();
      return closing;
    };
    return {
      write: async (chunk) => {
        if (size + chunk.length > maxBytes)
          throw new FileError('file_too_large', `upload ${uploadId} would exceed the ${maxBytes} bytes allowed for it`);
        await writeAll(handle, chunk, `writing upload ${uploadId}`);
        size += chunk.length;
      },
      finish: async () => {
        await close();
        return size;
      },
      abandon: () => close(),
      staged: () => size,
    };
  }

  /** backup.write: an arriving archive, verified against its size and SHA-256 before it takes its name. */
  async backupWriter(instanceId: string, backupId: string, sizeBytes: number, sha256: string): Promise<InputTarget> {
    const archive = this.backups.archivePath(instanceId, backupId);
    const tmp = this.backups.arrivalPath(instanceId, backupId);
    const handle = await openOrFail(
      tmp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      `storing backup ${backupId}`,
      0o600,
    );
    const hash = createHash('sha256');
    let written = 0;
    let closed = false;
    const close = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    return {
      write: async (chunk) => {
        if (written + chunk.length > sizeBytes)
          throw new FileError('size_mismatch', `backup ${backupId} is larger than the announced ${sizeBytes} bytes`);
        hash.update(chunk);
        await writeAll(handle, chunk, `storing backup ${backupId}`);
        written += chunk.length;
      },
      finish: async () => {
        await handle.sync();
        await close();
        const actual = hash.digest('hex');
        if (written !== sizeBytes)
          throw new FileError(
            'size_mismatch',
            `backup ${backupId} arrived with ${written} bytes, not the announced ${sizeBytes}`,
          );
        if (actual !== sha256)
          throw new FileError(
            'checksum_mismatch',
            `backup ${backupId} arrived with SHA-256 ${actual}, not the announced ${sha256}`,
          );
        renameSync(tmp, archive);
        await this.backups.recordArrived(instanceId, backupId, written, actual);
        return written;
      },
      abandon: async () => {
        await close().catch(() => undefined);
        rmSync(tmp, { force: true });
      },
    };
  }
}

async function openOrFail(path: string, flags: number, what: string, mode?: number): Promise<FileHandle> {
  try {
    return await open(path, flags, mode);
  } catch (err) {
    throw fileErrorFromErrno(err, what);
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer, what: string): Promise<void> {
  try {
    let off = 0;
    while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
  } catch (err) {
    throw fileErrorFromErrno(err, what);
  }
}
