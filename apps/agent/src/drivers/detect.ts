import { DriverInfo } from '@hostplane/protocol';
import { dockerEngineGet } from './docker-engine';
import { cgroupUnavailableReason } from './process/host-process';

/**
 * What the hub may schedule here. Plain processes are always possible (`reason` says when their
 * CPU/memory limits cannot be enforced); docker when its engine answers. Zone and parallels detection arrive with their drivers.
 */
export async function detectDrivers(options: { dockerSocket: string }): Promise<DriverInfo[]> {
  const limits = cgroupUnavailableReason();
  const processDriver: DriverInfo = limits === null ? { name: 'process', available: true, version: null } : { name: 'process', available: true, version: null, reason: limits };
  return [processDriver, await detectDocker(options.dockerSocket)];
}

async function detectDocker(socketPath: string): Promise<DriverInfo> {
  try {
    const version = (await dockerEngineGet(socketPath, '/version')) as { Version?: unknown };
    return { name: 'docker', available: true, version: typeof version.Version === 'string' ? version.Version : null };
  } catch (err) {
    return { name: 'docker', available: false, version: null, reason: (err as Error).message };
  }
}
