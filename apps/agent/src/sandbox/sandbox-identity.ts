import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { runCommand } from '../exec/run-command';
import type { InstanceStore } from '../instances/instance-store';

/** The unprivileged user an instance's processes (and files) belong to. */
export const sandboxIdentity = z.object({ uid: z.number().int().min(1), gid: z.number().int().min(1) });
export type SandboxIdentity = z.infer<typeof sandboxIdentity>;

export interface IdentityOptions {
  /** First uid (and gid) handed out; instance n gets base + n. */
  uidBase: number;
  /** How many ids the range holds. */
  uidCount: number;
  /** One operator-chosen user for every instance, instead of one uid each. */
  fixed?: SandboxIdentity;
}

export const DEFAULT_IDENTITY_OPTIONS: IdentityOptions = { uidBase: 1_000_000, uidCount: 65_536 };

function identityFile(store: InstanceStore, id: string): string {
  return join(store.paths(id).root, 'sandbox.json');
}

function readIdentity(store: InstanceStore, id: string): SandboxIdentity | null {
  try {
    return sandboxIdentity.parse(JSON.parse(readFileSync(identityFile(store, id), 'utf8')));
  } catch {
    return null;
  }
}

/**
 * The instance's uid/gid: kept once given (its files are owned by it), else the lowest free id of
 * the range, so two instances never share a user. Never 0.
 */
export function instanceIdentity(store: InstanceStore, id: string, options: IdentityOptions): SandboxIdentity {
  const known = readIdentity(store, id);
  if (known) return known;
  let identity = options.fixed;
  if (!identity) {
    const used = new Set(store.ids().map((other) => readIdentity(store, other)?.uid));
    let uid = options.uidBase;
    while (used.has(uid)) uid += 1;
    if (uid >= options.uidBase + options.uidCount)
      throw new Error(`no free sandbox uid left in ${options.uidBase}…${options.uidBase + options.uidCount - 1}`);
    identity = { uid, gid: uid };
  }
  writeFileSync(identityFile(store, id), JSON.stringify(identity), { mode: 0o600 });
  return identity;
}

/**
 * Gives the instance root (everything in it, links not followed) to the instance's user, as Wings does at every start.
 */
export async function giveDataTo(dataDir: string, identity: SandboxIdentity): Promise<void> {
  chownSync(dataDir, identity.uid, identity.gid);
  chmodSync(dataDir, 0o700);
  await runCommand(['chown', '-R', '-h', '--', `${identity.uid}:${identity.gid}`, dataDir], { timeoutMs: 10 * 60_000 });
}
