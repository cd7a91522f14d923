import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawSettings } from '@hostplane/config';

interface DevSecrets {
  encryptionKey: string;
  jwtKeys: string[];
}

/**
 * Outside production, missing secrets are generated once and kept in `<dataDir>/secrets.json`
 * (0600) so tokens and encrypted data survive restarts of a development hub.
 */
export function ensureDevSecrets(raw: RawSettings): void {
  if (raw.has('secrets.encryptionKey') && raw.has('secrets.jwtKeys')) return;
  const dataDir = String(raw.get('dataDir'));
  const file = join(dataDir, 'secrets.json');
  let secrets: DevSecrets;
  try {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  } catch {
    secrets = {
      encryptionKey: randomBytes(32).toString('base64'),
      jwtKeys: [`dev1:${randomBytes(32).toString('base64url')}`],
    };
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  }
  if (!raw.has('secrets.encryptionKey')) raw.set('secrets.encryptionKey', secrets.encryptionKey);
  if (!raw.has('secrets.jwtKeys')) raw.set('secrets.jwtKeys', secrets.jwtKeys);
}
