import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * What an agent crash in the middle of a restore leaves beside the root: the data at
 * `<root>.old-*` with no root (crash between the renames: put it back), an old tree whose
 * removal did not finish, or a half-extracted `<root>.restore-*` (both dropped).
 */
export function recoverInterruptedRestore(rootDir: string): void {
  const parent = dirname(rootDir);
  if (!existsSync(parent)) return;
  const oldPrefix = `${basename(rootDir)}.old-`;
  const restorePrefix = `${basename(rootDir)}.restore-`;
  for (const name of readdirSync(parent)) {
    if (name.startsWith(oldPrefix)) {
      if (existsSync(rootDir)) rmSync(join(parent, name), { recursive: true, force: true });
      else renameSync(join(parent, name), rootDir);
    } else if (name.startsWith(restorePrefix)) rmSync(join(parent, name), { recursive: true, force: true });
  }
}
