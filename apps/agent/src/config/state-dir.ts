import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TOKEN_PREFIXES } from '@hostplane/protocol';

/** What registration leaves in the state dir; the token never leaves this file except to the hub. */
export const credentialsSchema = z.object({
  hub_url: z.url(),
  node_id: z.uuid(),
  agent_token: z.string().startsWith(TOKEN_PREFIXES.agent),
});
export type Credentials = z.infer<typeof credentialsSchema>;

export const CREDENTIALS_FILE = 'credentials.json';
const LOCK_FILE = 'agent.pid';

export class StateDirError extends Error {}

/** Creates the state dir (and missing parents) readable by the agent's user only. */
export function ensureStateDir(stateDir: string): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StateDirError(
      `cannot create state dir ${stateDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

export function readCredentials(stateDir: string): Credentials | null {
  const file = join(stateDir, CREDENTIALS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateDirError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = null;
  }
  const parsed = credentialsSchema.safeParse(doc);
  if (!parsed.success)
    throw new StateDirError(`${file} is damaged; register the agent again (hostplane-agent register --force …)`);
  return parsed.data;
}

export function writeCredentials(stateDir: string, credentials: Credentials): string {
  ensureStateDir(stateDir);
  const file = join(stateDir, CREDENTIALS_FILE);
  writeFileDurably(file, `${JSON.stringify(credentials, null, 2)}\n`, 0o600);
  return file;
}

/**
 * Write to a temporary file, fsync, rename over the target: a crash leaves the old or the new file, never half of one.
 */
export function writeFileDurably(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDirectory(dirname(file));
}

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Claims the state dir for this process: two agents on one journal would answer each other's
 * jobs and flap the tunnel. A lock left by a dead process is taken over.
 */
export function lockStateDir(stateDir: string): { release(): void } {
  const file = join(stateDir, LOCK_FILE);
  const holder = runningAgentPid(stateDir);
  if (holder !== null && holder !== process.pid) {
    throw new StateDirError(`another agent (pid ${holder}) is running with state dir ${stateDir}`);
  }
  writeFileDurably(file, `${process.pid}\n`, 0o600);
  return {
    release() {
      if (runningAgentPid(stateDir) === process.pid) writeFileDurably(file, '', 0o600);
    },
  };
}

/** The pid of the live agent holding the state dir, or null. */
export function runningAgentPid(stateDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(stateDir, LOCK_FILE), 'utf8').trim();
  } catch {
    return null;
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive but owned by someone else, which still means the dir is in use.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
