import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  Stats,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { FileEntry } from '@hostplane/protocol';
import { assertInstanceId } from '../instances/instance-store';
import { FileError, fileErrorFromErrno } from './file-error';
import { adoptOwner, fileEntryOf, InstanceFiles, lstatOrNull, wrap } from './instance-files';
import type { InstanceRoot } from './instance-root';
import { inPinnedDirectory } from './pinned-dir';

const UPLOAD_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Commit markers let a re-run commit (after a crash before the journal write) answer as the first did. */
const MARKER_MAX_AGE_MS = 7 * 24 * 3600_000;

/**
 * `<state>/uploads/<instance_id>/`: staged uploads (`<upload_id>`, appended to by file.write
 * streams, resumable at their size), their commit markers, and the staging files of direct
 * path writes (`.write-*`), which never outlive their stream.
 */
export class UploadStaging {
  readonly base: string;
  /** Instances whose dead `.write-*` files (of an agent that stopped mid-write) were swept since start. */
  private readonly swept = new Set<string>();

  constructor(
    stateDir: string,
    private readonly files: InstanceFiles,
  ) {
    this.base = join(stateDir, 'uploads');
  }

  dirOf(instanceId: string): string {
    assertInstanceId(instanceId);
    return join(this.base, instanceId);
  }

  uploadPath(instanceId: string, uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId))
      throw new FileError('invalid_path', `upload id "${uploadId.slice(0, 80)}" is invalid`);
    return join(this.dirOf(instanceId), uploadId);
  }

  /** Size of a staged upload; 0 when it has not started. */
  stagedSize(instanceId: string, uploadId: string): number {
    return statSync(this.uploadPath(instanceId, uploadId), { throwIfNoEntry: false })?.size ?? 0;
  }

  /** A fresh staging file for a direct path write. */
  newWriteStaging(instanceId: string): string {
    const dir = this.dirOf(instanceId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!this.swept.has(instanceId)) {
      for (const name of readdirSync(dir)) if (name.startsWith('.write-')) rmSync(join(dir, name), { force: true });
      this.swept.add(instanceId);
    }
    return join(dir, `.write-${randomBytes(8).toString('hex')}`);
  }

  ensureDir(instanceId: string): void {
    mkdirSync(this.dirOf(instanceId), { recursive: true, mode: 0o700 });
  }

  /** Moves a staged upload to its path; a re-run after success answers the same entry. */
  commit(instanceId: string, uploadId: string, path: string, overwrite: boolean): FileEntry {
    const root = this.files.root(instanceId);
    const staged = this.uploadPath(instanceId, uploadId);
    const marker = `${staged}.committed`;
    if (!existsSync(staged)) {
      const committedTo = readMarker(marker);
      if (committedTo === path) {
        const done = root.resolve(path);
        return fileEntryOf(done.rel, done.stat as Stats, done.abs);
      }
      throw new FileError(
        'upload_not_found',
        `no staged upload ${uploadId} for instance ${instanceId} (never started, aborted, or already committed)`,
      );
    }
    const { parent, name } = root.resolveParent(path);
    const target = join(parent.abs, name);
    const existing = lstatOrNull(target);
    if (existing?.isDirectory())
      throw new FileError('path_exists', `"${path}" is a directory; an upload cannot replace it`);
    if (existing && !overwrite)
      throw new FileError('path_exists', `"${path}" already exists; pass overwrite to replace it`);
    writeFileSync(marker, path, { mode: 0o600 });
    chmodSync(staged, existing?.isFile() ? existing.mode & 0o7777 : 0o644);
    placeFile(staged, root, parent.abs, name, existing ?? (parent.stat as Stats));
    pruneMarkers(this.dirOf(instanceId));
    const done = lstatOrNull(target) as Stats;
    return fileEntryOf(parent.rel === '.' ? name : `${parent.rel}/${name}`, done, target);
  }

  abort(instanceId: string, uploadId: string): boolean {
    const staged = this.uploadPath(instanceId, uploadId);
    if (!existsSync(staged)) return false;
    rmSync(staged, { force: true });
    return true;
  }

  /** Everything staged for an instance (it is being deleted). */
  removeAll(instanceId: string): void {
    rmSync(this.dirOf(instanceId), { recursive: true, force: true });
  }
}

/**
 * Atomically puts a finished (fsynced) staging file at `target`: a rename, or across
 * filesystems (a dataset per instance) a copy beside the target, fsynced, then a rename. A link
 * at the target is replaced, never written through. Owner and mode follow what it replaces.
 */
export function placeFile(staged: string, root: InstanceRoot, parentAbs: string, name: string, like: Stats): void {
  adoptOwner(staged, like);
  inPinnedDirectory(root, parentAbs, (dir) => moveIntoPlace(staged, dir, name, like));
}

function moveIntoPlace(staged: string, dir: string, name: string, like: Stats): void {
  const target = join(dir, name);
  try {
    renameSync(staged, target);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw wrapRename(err, name);
  }
  const tmp = join(dir, `.hostplane-${randomBytes(6).toString('hex')}.tmp`);
  try {
    wrap(() => copyFileSync(staged, tmp, constants.COPYFILE_EXCL), `writing ${target}`);
    const fd = openSync(tmp, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    adoptOwner(tmp, like);
    renameSync(tmp, target);
    unlinkSync(staged);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw wrapRename(err, name);
  }
}

function wrapRename(err: unknown, target: string): FileError {
  return fileErrorFromErrno(err, `placing the file at ${target}`);
}

function readMarker(marker: string): string | null {
  try {
    return readFileSync(marker, 'utf8');
  } catch {
    return null;
  }
}

function pruneMarkers(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.committed')) continue;
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    if (st && now - st.mtimeMs > MARKER_MAX_AGE_MS) rmSync(join(dir, name), { force: true });
  }
}
