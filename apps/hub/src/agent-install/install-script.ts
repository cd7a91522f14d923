import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** apps/hub/assets/install.sh, from dist/src/agent-install/ (a checkout and the hub image alike). */
export const INSTALL_SCRIPT_PATH = resolve(__dirname, '../../../assets/install.sh');

let script: string | undefined;

/** The script is the same for every hub: the hub URL and the token come as its arguments. */
export function installScript(): string {
  script ??= readFileSync(INSTALL_SCRIPT_PATH, 'utf8');
  return script;
}
