import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Sum of file sizes beneath a directory, without following links. */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = join(dir, name);
    try {
      const st = lstatSync(p);
      total += st.isDirectory() ? directoryBytes(p) : st.size;
    } catch {
      // Removed while walking.
    }
  }
  return total;
}
