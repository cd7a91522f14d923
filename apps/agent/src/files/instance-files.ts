import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  opendirSync,
  readlinkSync,
  renameSync,
  rmSync,
  Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { FileEntry } from '@hostplane/protocol';
import { recoverInterruptedRestore } from './interrupted-restore';
import type { InstanceStore } from '../instances/instance-store';
import { FileError, fileErrorFromErrno } from './file-error';
import { fileTypeOf, InstanceRoot, ResolvedPath } from './instance-root';
import { inPinnedDirectory, pinDirectory } from './pinned-dir';

export const MAX_LIST_ENTRIES = 10_000;
/** Names read from one directory before giving up on sorting all of them (the answer says truncated). */
const MAX_SCANNED_NAMES = 200_000;

/** The protocol's description of one path, from its lstat. */
export function fileEntryOf(rel: string, st: Stats, abs: string): FileEntry {
  const name = rel === '.' ? '.' : (rel.split('/').pop() as string);
  return {
    name,
    path: rel,
    type: fileTypeOf(st),
    size_bytes: st.isFile() ? st.size : 0,
    mode: `0${(st.mode & 0o7777).toString(8).padStart(3, '0')}`,
    modified_at: st.mtime.toISOString(),
    link_target: st.isSymbolicLink() ? readlinkOrNull(abs) : null,
  };
}

function readlinkOrNull(abs: string): string | null {
  try {
    return readlinkSync(abs);
  } catch {
    return null;
  }
}

/**
 * Operations on an instance's files, every path confined to its root (see InstanceRoot). New
 * files and directories take the owner of the directory they are created in, so a workload
 * running as its own uid can still change what the agent (as root) put there.
 */
export class InstanceFiles {
  /** Instances whose leftovers of an interrupted restore were looked for since the agent started. */
  private readonly recovered = new Set<string>();
  /** Instances being restored: their root is about to be swapped, so other file operations wait outside. */
  private readonly restoring = new Set<string>();

  constructor(private readonly store: InstanceStore) {}

  /** The root of an instance that exists on this host (and is not being restored, unless by the restore itself). */
  root(instanceId: string, options: { forRestore?: boolean } = {}): InstanceRoot {
    if (!this.store.exists(instanceId))
      throw new FileError('instance_not_found', `instance ${instanceId} does not exist on this host`);
    if (this.restoring.has(instanceId) && !options.forRestore)
      throw new FileError(
        'restore_in_progress',
        `instance ${instanceId} is being restored from a backup; retry when the restore has finished`,
      );
    const data = this.store.paths(instanceId).data;
    if (!this.recovered.has(instanceId)) {
      recoverInterruptedRestore(data);
      this.recovered.add(instanceId);
    }
    if (!existsSync(data)) mkdirSync(data, { recursive: true, mode: 0o755 });
    return new InstanceRoot(data);
  }

  /** Runs a restore with the instance's other file operations refused (`restore_in_progress`). */
  async whileRestoring<T>(instanceId: string, run: () => Promise<T>): Promise<T> {
    if (this.restoring.has(instanceId))
      throw new FileError('restore_in_progress', `instance ${instanceId} is already being restored`);
    this.restoring.add(instanceId);
    try {
      return await run();
    } finally {
      this.restoring.delete(instanceId);
    }
  }

  list(instanceId: string, path: string): { path: string; entries: FileEntry[]; truncated: boolean } {
    const root = this.root(instanceId);
    const dir = root.resolve(path, { followLast: true });
    if (!dir.stat?.isDirectory()) throw new FileError('not_a_directory', `"${path}" is not a directory`);
    const names: { name: string; dir: boolean }[] = [];
    let truncated = false;
    const handle = wrap(() => opendirSync(dir.abs), `listing "${path}"`);
    try {
      for (let d = handle.readSync(); d !== null; d = handle.readSync()) {
        if (names.length >= MAX_SCANNED_NAMES) {
          truncated = true;
          break;
        }
        names.push({ name: d.name, dir: d.isDirectory() });
      }
    } finally {
      handle.closeSync();
    }
    names.sort((a, b) => (a.dir === b.dir ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.dir ? -1 : 1));
    if (names.length > MAX_LIST_ENTRIES) truncated = true;
    const entries: FileEntry[] = [];
    for (const { name } of names.slice(0, MAX_LIST_ENTRIES)) {
      const abs = join(dir.abs, name);
      const st = lstatOrNull(abs);
      if (st) entries.push(fileEntryOf(dir.rel === '.' ? name : `${dir.rel}/${name}`, st, abs));
    }
    return { path: dir.rel, entries, truncated };
  }

  stat(instanceId: string, path: string): FileEntry {
    const resolved = this.root(instanceId).resolve(path);
    return fileEntryOf(resolved.rel, resolved.stat as Stats, resolved.abs);
  }

  /** Deletes recursively; a link is removed itself, never what it points to. */
  delete(instanceId: string, paths: string[]): { deleted: string[]; missing: string[] } {
    const root = this.root(instanceId);
    const deleted: string[] = [];
    const missing: string[] = [];
    for (const path of paths) {
      let target: ResolvedPath;
      let parentAbs: string;
      let name: string;
      try {
        const found = root.resolveParent(path);
        parentAbs = found.parent.abs;
        name = found.name;
        target = {
          abs: join(parentAbs, name),
          rel: found.parent.rel === '.' ? name : `${found.parent.rel}/${name}`,
          stat: null,
        };
        target.stat = lstatOrNull(target.abs);
      } catch (err) {
        if (err instanceof FileError && err.code === 'path_not_found') {
          missing.push(path);
          continue;
        }
        throw err;
      }
      if (target.stat === null) {
        missing.push(path);
        continue;
      }
      inPinnedDirectory(root, parentAbs, (dir) =>
        wrap(() => rmSync(join(dir, name), { recursive: true, force: true }), `deleting "${path}"`),
      );
      deleted.push(path);
    }
    return { deleted, missing };
  }

  /** Creates a directory and its missing parents; an existing directory is answered as is. */
  mkdir(instanceId: string, path: string): FileEntry {
    const root = this.root(instanceId);
    const target = root.resolve(path, { followLast: true, allowMissingParents: true });
    if (target.stat !== null) {
      if (!target.stat.isDirectory()) throw new FileError('path_exists', `"${path}" exists and is not a directory`);
      return fileEntryOf(target.rel, target.stat, target.abs);
    }
    const parts = target.rel.split('/');
    let built = root.dir;
    for (const part of parts) {
      const next = join(built, part);
      const st = lstatOrNull(next);
      if (st === null) {
        const owner = lstatOrNull(built);
        inPinnedDirectory(root, built, (dir) => {
          wrap(() => mkdirSync(join(dir, part), { mode: 0o755 }), `creating "${path}"`);
          if (owner) adoptOwner(join(dir, part), owner);
        });
      } else if (!st.isDirectory()) {
        // A link or file appeared on the way since the path was resolved: never build through it.
        throw new FileError('path_exists', `"${root.relative(next)}" is in the way and is not a directory`);
      }
      built = next;
    }
    return fileEntryOf(target.rel, lstatOrNull(target.abs) as Stats, target.abs);
  }

  /** Renames inside the root; an existing target is refused unless overwrite (then replaced). */
  /** `rerun`: the job ran before (the journal says so), so a source gone to its target counts as moved. */
  move(
    instanceId: string,
    moves: { from: string; to: string }[],
    overwrite: boolean,
    rerun = false,
  ): { moved: { from: string; to: string }[] } {
    const root = this.root(instanceId);
    const moved: { from: string; to: string }[] = [];
    for (const m of moves) {
      const src = root.resolveParent(m.from);
      const fromAbs = join(src.parent.abs, src.name);
      const fromStat = lstatOrNull(fromAbs);
      const dst = root.resolveParent(m.to);
      const toAbs = join(dst.parent.abs, dst.name);
      if (fromStat === null) {
        // A re-run after the agent stopped between the rename and its journal: already moved.
        if (lstatOrNull(toAbs) !== null && rerun) {
          moved.push(m);
          continue;
        }
        throw new FileError('path_not_found', `"${m.from}" does not exist`);
      }
      if (toAbs === fromAbs) {
        moved.push(m);
        continue;
      }
      if (fromStat.isDirectory() && toAbs.startsWith(`${fromAbs}/`))
        throw new FileError('invalid_move', `"${m.from}" cannot be moved into itself ("${m.to}")`);
      const toStat = lstatOrNull(toAbs);
      if (toStat !== null && !overwrite)
        throw new FileError('path_exists', `"${m.to}" already exists; pass overwrite to replace it`);
      const from = pinDirectory(root, src.parent.abs);
      try {
        inPinnedDirectory(root, dst.parent.abs, (toDir) => {
          if (toStat !== null)
            wrap(() => rmSync(join(toDir, dst.name), { recursive: true, force: true }), `replacing "${m.to}"`);
          wrap(() => renameSync(join(from.path, src.name), join(toDir, dst.name)), `moving "${m.from}" to "${m.to}"`);
        });
      } finally {
        from.close();
      }
      moved.push(m);
    }
    return { moved };
  }
}

export function lstatOrNull(abs: string): Stats | null {
  try {
    return lstatSync(abs, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    throw fileErrorFromErrno(err, abs);
  }
}

/** Runs a filesystem call, turning its errno into a FileError. */
export function wrap<T>(run: () => T, what: string): T {
  try {
    return run();
  } catch (err) {
    throw fileErrorFromErrno(err, what);
  }
}

/** As root, a new path takes the uid/gid of `like` (its directory, or the file it replaces). */
export function adoptOwner(abs: string, like: Stats): void {
  if (process.getuid?.() !== 0) return;
  try {
    chownSync(abs, like.uid, like.gid);
  } catch {
    // Some filesystems (or a rootless setup) refuse chown: the file stays the agent's.
  }
}
