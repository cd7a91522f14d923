import { DriverInfo } from '@hostplane/protocol';
import { dockerEngineGet } from './docker-engine';
import { ProcessSandbox } from '../sandbox/process-sandbox';
import type { ParallelsDriverOptions } from './parallels/parallels-driver';
import { detectParallelsDriver } from './parallels/parallels-settings';
import type { ZoneDriverOptions } from './zone/zone-driver';
import { detectZoneDriver } from './zone/zone-settings';

/**
 * What the hub may schedule here. Plain processes are always possible, `sandboxed` says whether
 * they run confined (when not, `reason` says why, and the hub lets only platform admins use them);
 * docker when its engine answers. The zone driver where it is enabled (illumos, or by configuration),
 * the parallels driver likewise (macOS with prlctl, or by configuration).
 */
export async function detectDrivers(options: {
  dockerSocket: string;
  stateDir?: string;
  zone?: ZoneDriverOptions | null;
  parallels?: ParallelsDriverOptions | null;
}): Promise<DriverInfo[]> {
  const problem = new ProcessSandbox(options.stateDir ?? '/var/lib/hostplane-agent').problem();
  const processDriver: DriverInfo = {
    name: 'process',
    available: true,
    version: null,
    sandboxed: problem === null,
    ...(problem === null ? {} : { reason: `unsandboxed: ${problem}` }),
  };
  const drivers = [processDriver, await detectDocker(options.dockerSocket)];
  if (options.zone) drivers.push(await detectZoneDriver(options.zone));
  if (options.parallels) drivers.push(await detectParallelsDriver(options.parallels));
  return drivers;
}

async function detectDocker(socketPath: string): Promise<DriverInfo> {
  try {
    const version = (await dockerEngineGet(socketPath, '/version')) as { Version?: unknown };
    return { name: 'docker', available: true, version: typeof version.Version === 'string' ? version.Version : null };
  } catch (err) {
    return { name: 'docker', available: false, version: null, reason: (err as Error).message };
  }
}
