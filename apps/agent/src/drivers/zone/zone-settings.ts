import type { DriverInfo } from '@hostplane/protocol';
import type { ZoneSettings } from '../../config/agent-config';
import { HostExec } from '../../illumos/host-exec';
import { ZoneHost } from './zone-host';
import type { ZoneDriverOptions } from './zone-driver';

/** The zone driver's options from the agent settings; null where it is off (by default everywhere but illumos). */
export function zoneDriverOptions(settings: ZoneSettings, env?: NodeJS.ProcessEnv): ZoneDriverOptions | null {
  const on = settings.enabled === 'on' || (settings.enabled === 'auto' && process.platform === 'sunos');
  if (!on) return null;
  return {
    exec: new HostExec({
      privilege: settings.privilege,
      timeoutMs: settings.commandTimeoutMs,
      maxOutputBytes: 16 * 1024 * 1024,
      env,
    }),
    layout: { zonepathRoot: settings.zonepathRoot, datasetRoot: settings.datasetRoot },
    consoleLogDir: settings.consoleLogDir,
  };
}

/** The zone driver as hello reports it: available when `zoneadm list` answers. */
export async function detectZoneDriver(options: ZoneDriverOptions): Promise<DriverInfo> {
  try {
    await new ZoneHost(options.exec).zones();
    return { name: 'zone', available: true, version: null, sandboxed: true };
  } catch (err) {
    return { name: 'zone', available: false, version: null, reason: (err as Error).message.slice(0, 500) };
  }
}
