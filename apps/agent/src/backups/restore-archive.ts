import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tar from 'tar';
import { FileError, fileErrorFromErrno } from '../files/file-error';
import { InstanceRoot } from '../files/instance-root';

/** Entry types a restore writes; devices, fifos and anything exotic are skipped. */
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/**
 * Whether an archive path may be written: relative, no `..`, no empty segments after `./` is
 * dropped. node-tar would already strip a leading `/` and skip `..`; we skip such entries outright
 * instead of writing them somewhere the archive did not mean.
 */
function safeEntryPath(raw: string): string | null {
  const p = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (p === '' || p === '.') return '';
  if (p.startsWith('/') || p.includes('\u0000')) return null;
  const parts = p.split('/');
  if (parts.some((s) => s === '..' || s === '')) return null;
  return parts.filter((s) => s !== '.').join('/');
}

/**
 * A symlink target stays inside when, read from the link's own directory, it climbs no higher
 * than the root and has no `..` after a name (through a link, `a/..` is not where it looks).
 */
function safeLinkTarget(entryPath: string, target: string): boolean {
  if (target === '' || target.startsWith('/')) return false;
  const parts = target.split('/').filter((s) => s !== '' && s !== '.');
  let ups = 0;
  while (parts[ups] === '..') ups++;
  if (parts.slice(ups).includes('..')) return false;
  return ups <= entryPath.split('/').length - 1;
}

export interface RestoreOutcome {
  file_count: number;
  /** Entries left out because they were unsafe (escaping paths or links, devices). */
  skipped: string[];
}

/**
 * Extracts into a fresh directory beside the root, so a failed or refused restore leaves the
 * old data untouched, then swaps it in (truncate) or moves its entries over the old ones.
 */
export async function restoreArchive(archive: string, rootDir: string, truncate: boolean): Promise<RestoreOutcome> {
  const rootStat = lstatSync(rootDir);
  const fresh = join(dirname(rootDir), `${basename(rootDir)}.restore-${randomBytes(4).toString('hex')}`);
  mkdirSync(fresh, { mode: 0o700 });
  const skipped: string[] = [];
  /** Refused links: nothing is written beneath their names either (node-tar would make them directories). */
  const refusedLinks: string[] = [];
  let fileCount = 0;
  try {
    await tar.x({
      file: archive,
      cwd: fresh,
      strict: false,
      maxDecompressionRatio: Infinity,
      onwarn: (code, message) => skipped.push(`${code}: ${String(message).slice(0, 200)}`),
      filter: (path, entry) => {
        const e = entry as tar.ReadEntry;
        const rel = safeEntryPath(path);
        if (rel === null || !ALLOWED_TYPES.has(e.type) || refusedLinks.some((l) => rel.startsWith(`${l}/`))) {
          skipped.push(path.slice(0, 200));
          return false;
        }
        if (e.type === 'SymbolicLink' && !safeLinkTarget(rel, e.linkpath ?? '')) {
          refusedLinks.push(rel);
          skipped.push(path.slice(0, 200));
          return false;
        }
        if (e.type === 'Link' && safeEntryPath(e.linkpath ?? '') === null) {
          skipped.push(path.slice(0, 200));
          return false;
        }
        if (e.type === 'File' || e.type === 'OldFile' || e.type === 'ContiguousFile') fileCount++;
        return true;
      },
    });
    removeEscapingLinks(new InstanceRoot(fresh), '', skipped);
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    if (err instanceof FileError) throw err;
    throw new FileError('io_error', `the backup archive could not be extracted: ${(err as Error).message}`);
  }
  try {
    if (truncate) swapIn(fresh, rootDir, rootStat);
    else {
      mergeInto(fresh, rootDir);
      rmSync(fresh, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    throw fileErrorFromErrno(err, 'putting the restored files in place');
  }
  return { file_count: fileCount, skipped };
}

/** A second check on the extracted tree itself: any link that really resolves outside goes. */
function removeEscapingLinks(root: InstanceRoot, rel: string, skipped: string[]): void {
  for (const name of readdirSync(rel === '' ? root.dir : join(root.dir, rel))) {
    const childRel = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(root.dir, childRel));
    if (st.isDirectory()) removeEscapingLinks(root, childRel, skipped);
    else if (st.isSymbolicLink()) {
      try {
        root.resolve(childRel, { followLast: true });
      } catch (err) {
        if (err instanceof FileError && err.code === 'path_not_found') continue;
        unlinkSync(join(root.dir, childRel));
        skipped.push(childRel);
      }
    }
  }
}

/** root -> root.old-*, fresh -> root, then the old tree goes; the old tree comes back if the second rename fails. */
function swapIn(fresh: string, rootDir: string, rootStat: import('node:fs').Stats): void {
  chmodSync(fresh, rootStat.mode & 0o7777);
  if (process.getuid?.() === 0) chownSync(fresh, rootStat.uid, rootStat.gid);
  const old = `${rootDir}.old-${randomBytes(4).toString('hex')}`;
  renameSync(rootDir, old);
  try {
    renameSync(fresh, rootDir);
  } catch (err) {
    renameSync(old, rootDir);
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
}

/** Moves every entry of `from` over `to` without following any link already in `to`. */
function mergeInto(from: string, to: string): void {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const srcStat = lstatSync(src);
    const dstStat = lstatSync(dst, { throwIfNoEntry: false });
    if (srcStat.isDirectory() && dstStat?.isDirectory()) {
      mergeInto(src, dst);
      continue;
    }
    if (dstStat && (dstStat.isDirectory() || srcStat.isDirectory())) rmSync(dst, { recursive: true, force: true });
    renameSync(src, dst);
  }
}
