import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { userInventory } from '@hostplane/protocol';

export type UserInventory = z.infer<typeof userInventory>;

/** Local accounts from `/etc/passwd` (name:password:uid:gid:gecos:home:shell). */
export function parsePasswd(text: string): UserInventory[] {
  const users: UserInventory[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!f[0] || !Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    users.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return users;
}

export async function collectUsers(passwdFile = '/etc/passwd'): Promise<UserInventory[]> {
  return parsePasswd(await readFile(passwdFile, 'utf8'));
}
