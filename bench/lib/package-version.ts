import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The installed version of a package in the root node_modules, for a run's facts. */
export function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'unknown';
  }
}
