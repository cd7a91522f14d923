import { lstatSync, readlinkSync, realpathSync, Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { instanceFilePath } from '@hostplane/protocol';
import { FileError, fileErrorFromErrno } from './file-error';

/** More links than this on one path is a loop (Linux's own limit is 40). */
const MAX_LINK_HOPS = 40;

export interface ResolvedPath {
  /** Absolute host path, with every link of the way replaced by where it points (inside the root). */
  abs: string;
  /** The same, relative to the root: `.` for the root itself. */
  rel: string;
  /** lstat of `abs`, null when it does not exist (allowed only with `allowMissing`). */
  stat: Stats | null;
}

export interface ResolveOptions {
  /** Follow a link in the last component (reads, listings); never for deletes, moves and writes. */
  followLast?: boolean;
  /** Missing trailing components are fine (mkdir with parents): they are returned unresolved, `stat` null. */
  allowMissingParents?: boolean;
}

/**
 * The data directory of one instance, and the only way file operations turn a user's path into a
 * host path. Paths are resolved component by component with lstat, following links ourselves: a
 * link is only followed when what it points to is beneath the root, so neither `..` nor a link
 * planted by the workload (`data -> /etc`) reaches outside. The operations then act on the
 * resolved path, in which no component is a link, and open files with O_NOFOLLOW.
 */
export class InstanceRoot {
  readonly dir: string;

  constructor(dir: string) {
    // The state dir itself may sit behind a link (macOS /tmp -> /private/tmp); the root is what it really is.
    this.dir = realpathSync(dir);
  }

  /** Whether an absolute host path is the root or beneath it. */
  contains(abs: string): boolean {
    return abs === this.dir || abs.startsWith(this.dir + sep);
  }

  relative(abs: string): string {
    return abs === this.dir ? '.' : abs.slice(this.dir.length + 1);
  }

  resolve(userPath: string, options: ResolveOptions = {}): ResolvedPath {
    try {
      return this.walk(userPath, options);
    } catch (err) {
      throw fileErrorFromErrno(err, `"${userPath.slice(0, 200)}"`);
    }
  }

  private walk(userPath: string, options: ResolveOptions): ResolvedPath {
    const parsed = instanceFilePath.safeParse(userPath);
    if (!parsed.success)
      throw new FileError(
        'invalid_path',
        `path "${userPath.slice(0, 200)}" is invalid: ${parsed.error.issues[0]?.message ?? 'malformed'}`,
      );
    const pending = userPath === '.' ? [] : userPath.split('/');
    const done: string[] = [];
    let hops = 0;
    let stat: Stats | null = lstatSync(this.dir);
    while (pending.length > 0) {
      const part = pending.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (done.length === 0) throw outside(userPath);
        done.pop();
        stat = lstatSync(join(this.dir, ...done));
        continue;
      }
      const abs = join(this.dir, ...done, part);
      stat = lstatSync(abs, { throwIfNoEntry: false }) ?? null;
      const last = pending.length === 0;
      if (stat === null) {
        if (options.allowMissingParents) {
          done.push(part, ...pending.filter((p) => p !== '' && p !== '.'));
          if (done.includes('..')) throw outside(userPath);
          break;
        }
        throw new FileError(
          'path_not_found',
          `"${userPath}" does not exist${last ? '' : ` (no "${[...done, part].join('/')}")`}`,
        );
      }
      if (stat.isSymbolicLink() && (!last || options.followLast)) {
        if (++hops > MAX_LINK_HOPS)
          throw new FileError('path_outside_root', `"${userPath}": too many levels of symbolic links`);
        const target = readlinkSync(abs);
        // An absolute target means the host's (or a container's) filesystem, never the instance root.
        if (target.startsWith('/')) throw outside(userPath, target);
        pending.unshift(...target.split('/'));
        stat = lstatSync(join(this.dir, ...done));
        continue;
      }
      if (!last && !stat.isDirectory())
        throw new FileError('not_a_directory', `"${userPath}": "${[...done, part].join('/')}" is not a directory`);
      done.push(part);
    }
    const abs = join(this.dir, ...done);
    return { abs, rel: done.length === 0 ? '.' : done.join('/'), stat };
  }

  /** The parent directory of a path (resolved, must exist) and the last component's name. */
  resolveParent(userPath: string): { parent: ResolvedPath; name: string } {
    const parsed = instanceFilePath.safeParse(userPath);
    if (!parsed.success)
      throw new FileError(
        'invalid_path',
        `path "${userPath.slice(0, 200)}" is invalid: ${parsed.error.issues[0]?.message ?? 'malformed'}`,
      );
    if (userPath === '.')
      throw new FileError('invalid_path', 'the instance root itself cannot be replaced, moved or deleted');
    const parts = userPath.split('/');
    const name = parts.pop() as string;
    const parent = this.resolve(parts.length === 0 ? '.' : parts.join('/'), { followLast: true });
    if (!parent.stat?.isDirectory()) throw new FileError('not_a_directory', `"${parts.join('/')}" is not a directory`);
    return { parent, name };
  }
}

function outside(userPath: string, target?: string): FileError {
  return new FileError(
    'path_outside_root',
    `"${userPath}" leads outside the instance directory${target ? ` (a link to ${target})` : ''}; refused`,
  );
}

/** What lstat says a path is, in the protocol's words. */
export function fileTypeOf(st: Stats): 'file' | 'directory' | 'symlink' | 'other' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Devices, fifos and sockets: never read, written or archived (a fifo read blocks forever; a device is the host's). */
export function isSpecial(st: Stats): boolean {
  return !st.isFile() && !st.isDirectory() && !st.isSymbolicLink();
}
