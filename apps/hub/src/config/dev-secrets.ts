import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FIELDS, ConfigPath } from './config.schema';

interface DevSecrets {
  encryptionKey: string;
  jwtKeys: string[];
}

/**
 * Outside production, missing secrets are generated once and kept in `<dataDir>/secrets.json`
 * (0600) so tokens and encrypted data survive restarts of a development hub.
 */
export function ensureDevSecrets(flat: Map<ConfigPath, unknown>, dataDir: string): void {
  if (flat.has('secrets.encryptionKey') && flat.has('secrets.jwtKeys')) return;
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
  if (!flat.has('secrets.encryptionKey')) flat.set('secrets.encryptionKey', secrets.encryptionKey);
  if (!flat.has('secrets.jwtKeys')) flat.set('secrets.jwtKeys', CONFIG_FIELDS['secrets.jwtKeys'].schema.parse(secrets.jwtKeys));
}
