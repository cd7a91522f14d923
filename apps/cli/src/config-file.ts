import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import YAML from 'yaml';

/** One hub and the credentials to use it, as `hpctl context add` or `hpctl login` saved them. */
export interface HubContext {
  url: string;
  token?: string;
  refresh_token?: string;
  org_id?: string;
  user?: string;
}

export interface CliConfig {
  'current-context'?: string;
  contexts: Record<string, HubContext>;
}

/** `$XDG_CONFIG_HOME/hostplane/config.yaml` (else `~/.config/hostplane/config.yaml`). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'hostplane', 'config.yaml');
}

/** Where unfinished uploads are remembered: `$XDG_STATE_HOME/hostplane/uploads.json`. */
export function uploadStatePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'hostplane', 'uploads.json');
}

export function readConfig(path = configPath()): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { contexts: {} };
  }
  const parsed = (YAML.parse(text) ?? {}) as Partial<CliConfig>;
  return { ...parsed, contexts: parsed.contexts ?? {} };
}

/** Written 0600 in a 0700 directory: it holds tokens. */
export function writeConfig(config: CliConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, YAML.stringify(config), { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function updateContext(name: string, change: (current: HubContext | undefined) => HubContext): void {
  const config = readConfig();
  config.contexts[name] = change(config.contexts[name]);
  config['current-context'] ??= name;
  writeConfig(config);
}

export function setCurrentContext(name: string): void {
  const config = readConfig();
  config['current-context'] = name;
  writeConfig(config);
}
