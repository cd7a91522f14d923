import { closeSync, constants, existsSync, openSync, readlinkSync, realpathSync } from 'node:fs';
import { FileError, fileErrorFromErrno } from './file-error';
import type { InstanceRoot } from './instance-root';

/** Linux names every open descriptor as a link to what it really is; illumos and macOS have no such directory. */
const PROC_FD = existsSync('/proc/self/fd') ? '/proc/self/fd' : null;

export interface PinnedDir {
  /** The prefix to put names under for the operation (`/proc/self/fd/N` on Linux). */
  readonly path: string;
  close(): void;
}

/**
 * Pins a directory that was resolved inside the root for the operation about to happen in it.
 * A workload can swap a directory on the way for a link between our lstat walk and a rename or
 * unlink; on Linux the directory is opened, its real location checked through
 * /proc/self/fd, and the operation then goes through the descriptor, so a later swap changes
 * nothing. Elsewhere its realpath is checked just before use (a narrower window, not none).
 */
export function pinDirectory(root: InstanceRoot, abs: string): PinnedDir {
  if (!PROC_FD) {
    const real = realpathOrFail(abs);
    if (!root.contains(real)) throw escaped(root, abs);
    return { path: real, close: () => undefined };
  }
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (err) {
    throw fileErrorFromErrno(err, root.relative(abs));
  }
  const real = readlinkSync(`${PROC_FD}/${fd}`);
  if (!root.contains(real)) {
    closeSync(fd);
    throw escaped(root, abs);
  }
  return { path: `${PROC_FD}/${fd}`, close: () => closeSync(fd) };
}

/** Runs `op` with the directory pinned, then lets it go. */
export function inPinnedDirectory<T>(root: InstanceRoot, abs: string, op: (dir: string) => T): T {
  const pin = pinDirectory(root, abs);
  try {
    return op(pin.path);
  } finally {
    pin.close();
  }
}

/** After an open: is what the descriptor refers to really beneath the root? */
export function assertOpenedInside(root: InstanceRoot, fd: number, shownAs: string): void {
  if (!PROC_FD) return;
  const real = readlinkSync(`${PROC_FD}/${fd}`);
  if (!root.contains(real))
    throw new FileError(
      'path_outside_root',
      `"${shownAs}" changed into a path outside the instance directory while it was opened; refused`,
    );
}

function realpathOrFail(abs: string): string {
  try {
    return realpathSync(abs);
  } catch (err) {
    throw fileErrorFromErrno(err, abs);
  }
}

function escaped(root: InstanceRoot, abs: string): FileError {
  return new FileError(
    'path_outside_root',
    `"${root.relative(abs)}" is no longer inside the instance directory (a link was swapped in); refused`,
  );
}
