import { InstanceManager } from '../instances/instance-manager';
import { InstanceStore } from '../instances/instance-store';
import { DockerDriver } from './docker/docker-driver';
import { ParallelsDriver, ParallelsDriverOptions } from './parallels/parallels-driver';
import { ProcessDriver, ProcessDriverOptions } from './process/process-driver';
import { ZoneDriver, ZoneDriverOptions } from './zone/zone-driver';

/** The agent's instance drivers over one state dir. */
export function createInstanceManager(options: {
  stateDir: string;
  dockerSocket: string;
  dockerBindAddress?: string;
  sandbox?: ProcessDriverOptions;
  zone?: ZoneDriverOptions | null;
  parallels?: ParallelsDriverOptions | null;
}): InstanceManager {
  const store = new InstanceStore(options.stateDir);
  const sandbox = options.sandbox ?? {};
  return new InstanceManager(store, [
    new ProcessDriver(store, sandbox),
    new DockerDriver(store, options.dockerSocket, {
      bindAddress: options.dockerBindAddress ?? '0.0.0.0',
      identity: sandbox.identity,
      pidsLimit: sandbox.pidsLimit,
      logRotation: sandbox.logRotation,
    }),
    ...(options.zone ? [new ZoneDriver(store, options.zone)] : []),
    ...(options.parallels ? [new ParallelsDriver(store, options.parallels)] : []),
  ]);
}
