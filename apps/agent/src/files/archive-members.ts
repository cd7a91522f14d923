import { lstat, opendir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError } from './file-error';
import { InstanceRoot, isSpecial } from './instance-root';
import { assertOpenedInside } from './pinned-dir';
import type { ZipMember } from './zip-writer';

/**
 * The members of a files.archive: each of `paths` (relative to `base`) and, for directories,
 * everything beneath, named relative to `base`. Links are kept as links only when they lead
 * somewhere inside the root; devices, fifos and sockets are left out.
 */
export async function* archiveMembers(
  root: InstanceRoot,
  base: string,
  paths: readonly string[],
): AsyncGenerator<ZipMember> {
  const baseDir = root.resolve(base, { followLast: true });
  if (!baseDir.stat?.isDirectory()) throw new FileError('not_a_directory', `"${base}" is not a directory`);
  const seen = new Set<string>();
  for (const p of paths) {
    if (p === '.') {
      // The base itself: its contents at the top of the archive.
      for (const child of await sortedNames(baseDir.abs)) yield* walk(root, join(baseDir.abs, child), child);
      continue;
    }
    const userPath = base === '.' ? p : `${base}/${p}`;
    const { parent, name } = root.resolveParent(userPath);
    const abs = join(parent.abs, name);
    if (seen.has(abs)) continue;
    seen.add(abs);
    yield* walk(root, abs, p);
  }
}

async function* walk(root: InstanceRoot, abs: string, name: string): AsyncGenerator<ZipMember> {
  const st = await lstat(abs).catch(() => null);
  if (!st || isSpecial(st)) return;
  const mode = st.mode & 0o7777;
  if (st.isSymbolicLink()) {
    if (!linkInside(root, abs)) return;
    yield { kind: 'symlink', name, mode, mtime: st.mtime, target: await readlink(abs) };
    return;
  }
  if (st.isFile()) {
    yield {
      kind: 'file',
      name,
      mode,
      mtime: st.mtime,
      abs,
      size: st.size,
      verify: (fd) => assertOpenedInside(root, fd, name),
    };
    return;
  }
  yield { kind: 'directory', name, mode, mtime: st.mtime };
  for (const child of await sortedNames(abs)) yield* walk(root, join(abs, child), `${name}/${child}`);
}

function linkInside(root: InstanceRoot, abs: string): boolean {
  try {
    root.resolve(root.relative(abs), { followLast: true });
    return true;
  } catch (err) {
    return err instanceof FileError && err.code === 'path_not_found';
  }
}

async function sortedNames(dirAbs: string): Promise<string[]> {
  const names: string[] = [];
  for await (const d of await opendir(dirAbs)) names.push(d.name);
  return names.sort();
}
