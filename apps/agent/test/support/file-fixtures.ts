import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from '../../src/jobs/handler-registry';
import { createFileServices, FileServices } from '../../src/transfers/file-services';
import { InstanceStore } from '../../src/instances/instance-store';
import { tempDir } from './agent-process';
import { buildSpec } from './instance-builders';

export const jobCtx = (signal: AbortSignal = new AbortController().signal): JobContext => ({
  jobId: randomUUID(),
  signal,
  progress: () => undefined,
});

/** A state dir with one (process) instance whose root is ready, plus a directory outside every root. */
export function instanceWithFiles(stateDir = tempDir()): {
  stateDir: string;
  id: string;
  root: string;
  outside: string;
  store: InstanceStore;
  services: FileServices;
} {
  const store = new InstanceStore(stateDir);
  const spec = buildSpec('process');
  store.prepare(spec.instance_id);
  store.writeSpec(spec);
  const root = store.paths(spec.instance_id).data;
  const outside = join(stateDir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'outside secret');
  return { stateDir, id: spec.instance_id, root, outside, store, services: createFileServices(stateDir, store) };
}

/**
 * Names and contents beneath a directory (links as `link:<target>`, never followed): compared before and after to prove
 * nothing changed there.
 */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, childRel));
      if (st.isSymbolicLink()) out[childRel] = `link:${readlinkSync(join(dir, childRel))}`;
      else if (st.isDirectory()) {
        out[childRel] = 'dir';
        walk(childRel);
      } else if (st.isFile()) out[childRel] = readFileSync(join(dir, childRel), 'utf8');
      else out[childRel] = 'special';
    }
  };
  walk('');
  return out;
}

export function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** The failure code of a promise that must reject with one. */
export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as { code?: string }).code ?? `uncoded: ${(err as Error).message}`;
  }
  return 'no error';
}
