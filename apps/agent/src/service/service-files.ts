import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CommandError, runCommand } from '../exec/run-command';
import { SERVICE_DEFINITIONS, ServiceDefinition, ServicePlatform } from './service-definitions';

export interface RenderValues {
  /** The agent's program and leading arguments, e.g. [node, /opt/hostplane/agent/dist/src/main.js]. */
  exec: readonly string[];
  configFile: string;
  user: string;
}

export class ServiceError extends Error {}

/**
 * The repository's `deploy/` directory, found upwards from this file (dist/src/service/ in a checkout or a package).
 */
export function findDeployDir(start = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'deploy', 'systemd', 'hostplane-agent.service'))) return join(dir, 'deploy');
    if (dirname(dir) === dir)
      throw new ServiceError(`cannot find the deploy/ directory with the service templates above ${start}`);
  }
}

export function renderServiceFile(
  definition: ServiceDefinition,
  values: RenderValues,
  deployDir = findDeployDir(),
): string {
  const template = readFileSync(join(deployDir, definition.template), 'utf8');
  const replacements: Record<string, string> = {
    EXEC: definition.renderExec(values.exec),
    CONFIG: definition.escapeValue(values.configFile),
    USER: definition.escapeValue(values.user),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => {
    const value = replacements[name];
    if (value === undefined)
      throw new ServiceError(`template ${definition.template} uses an unknown placeholder ${whole}`);
    return value;
  });
}

export interface InstallOptions extends RenderValues {
  platform: ServicePlatform;
  root: string;
  /** Write the file only; leave the service manager alone. */
  noEnable: boolean;
  deployDir?: string;
  print: (line: string) => void;
}

/** Writes the service file under the root, then lets the service manager enable and start it. */
export async function installService(options: InstallOptions): Promise<string> {
  const definition = SERVICE_DEFINITIONS[options.platform];
  guardRoot(options.root, options.noEnable);
  const file = resolve(options.root, definition.installPath);
  const content = renderServiceFile(definition, options, options.deployDir);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, content, { mode: 0o644 });
  options.print(`wrote ${file}`);
  if (!options.noEnable) {
    for (const argv of definition.activate(file)) {
      await runOrExplain(argv, `enabling the ${definition.manager} service`);
      options.print(`ran ${argv.join(' ')}`);
    }
  }
  return file;
}

export interface UninstallOptions {
  platform: ServicePlatform;
  root: string;
  noEnable: boolean;
  print: (line: string) => void;
}

/** Stops and disables the service (a service that is not loaded is fine), then removes its file. */
export async function uninstallService(options: UninstallOptions): Promise<string> {
  const definition = SERVICE_DEFINITIONS[options.platform];
  guardRoot(options.root, options.noEnable);
  const file = resolve(options.root, definition.installPath);
  if (!options.noEnable) {
    for (const argv of definition.deactivate()) {
      try {
        await runCommand(argv, { timeoutMs: 60_000 });
        options.print(`ran ${argv.join(' ')}`);
      } catch (err) {
        options.print(`note: ${(err as Error).message} (continuing)`);
      }
    }
  }
  if (existsSync(file)) {
    rmSync(file);
    options.print(`removed ${file}`);
  } else {
    options.print(`${file} was not installed`);
  }
  if (!options.noEnable)
    for (const argv of definition.afterRemove()) await runOrExplain(argv, 'reloading the service manager');
  return file;
}

/** The service manager's word for the agent's state (active, online, running, …), or null if it cannot tell. */
export async function serviceState(platform: ServicePlatform): Promise<string | null> {
  const { status } = SERVICE_DEFINITIONS[platform];
  try {
    const { stdout } = await runCommand(status.argv, { timeoutMs: 5000, okExitCodes: status.okExitCodes });
    return status.parse(stdout);
  } catch {
    return null;
  }
}

function guardRoot(root: string, noEnable: boolean): void {
  if (resolve(root) !== '/' && !noEnable) {
    throw new ServiceError(`--root ${root} needs --no-enable: the service manager only knows this system's own root`);
  }
}

async function runOrExplain(argv: [string, ...string[]], what: string): Promise<void> {
  try {
    await runCommand(argv, { timeoutMs: 60_000 });
  } catch (err) {
    const detail = err instanceof CommandError ? err.message : String(err);
    throw new ServiceError(`${what} failed: ${detail}`);
  }
}
