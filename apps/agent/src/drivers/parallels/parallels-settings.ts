import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { DriverInfo } from '@hostplane/protocol';
import type { ParallelsSettings } from '../../config/agent-config';
import { HostExec } from '../../illumos/host-exec';
import { PrlHost } from '../../parallels/prl-host';
import type { ParallelsDriverOptions } from './parallels-driver';

function onPath(tool: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The parallels driver's options from the agent settings; null where it is off (auto: on macOS with prlctl). */
export function parallelsDriverOptions(
  settings: ParallelsSettings,
  env: NodeJS.ProcessEnv = process.env,
): ParallelsDriverOptions | null {
  // Parallels Desktop links its tools into /usr/local/bin, which launchd's default PATH lacks.
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const withTools = {
    ...env,
    PATH: [...dirs, ...(dirs.includes('/usr/local/bin') ? [] : ['/usr/local/bin'])].join(delimiter),
  };
  const on =
    settings.enabled === 'on' ||
    (settings.enabled === 'auto' && process.platform === 'darwin' && onPath('prlctl', withTools));
  if (!on) return null;
  const exec = new HostExec({
    privilege: [],
    timeoutMs: settings.commandTimeoutMs,
    maxOutputBytes: 16 * 1024 * 1024,
    env: withTools,
  });
  const host = new PrlHost({
    exec,
    owner: settings.owner,
    serviceLogFile: settings.serviceLogFile,
    macosVmLimit: settings.macosVmLimit,
  });
  return { host, owner: settings.owner };
}

/** The parallels driver as hello reports it: available when `prlsrvctl info` answers, with the Parallels version. */
export async function detectParallelsDriver(options: ParallelsDriverOptions): Promise<DriverInfo> {
  try {
    const info = await options.host.serverInfo();
    return { name: 'parallels', available: true, version: info.version, sandboxed: true };
  } catch (err) {
    return { name: 'parallels', available: false, version: null, reason: (err as Error).message.slice(0, 500) };
  }
}
