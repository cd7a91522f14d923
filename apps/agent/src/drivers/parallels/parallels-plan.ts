import type { InstanceSpec } from '@hostplane/protocol';
import { checkMachineRef, checkOwner } from '@hostplane/protocol';

/** `hp-<instance id>`: the clone's name, which names its instance. */
export function vmNameOf(instanceId: string): string {
  return `hp-${instanceId}`;
}

export interface VmPlan {
  vm: string;
  source: string;
  linked: boolean;
  /** `prlctl set` flags applied to the clone before its first boot. */
  settings: string[];
  owner: string | null;
}

/** Everything the driver will ask of prlctl for one instance, validated before the first command. */
export function planVm(spec: InstanceSpec, defaultOwner: string | null): VmPlan {
  const config = spec.parallels;
  if (!config) throw new Error('a parallels instance needs its parallels settings (the VM to clone)');
  if (!('vm' in config.source))
    throw new Error('catalog images are not available on this agent yet: clone an existing VM (source.vm)');
  const settings: string[] = [];
  const cpus = config.cpus ?? (spec.resources.cpu_cores ? Math.max(1, Math.ceil(spec.resources.cpu_cores)) : undefined);
  if (cpus !== undefined) settings.push('--cpus', String(cpus));
  const memoryMb =
    config.memory_mb ?? (spec.resources.memory_bytes ? Math.ceil(spec.resources.memory_bytes / 2 ** 20) : undefined);
  if (memoryMb !== undefined) settings.push('--memsize', String(memoryMb));
  if (config.network) settings.push('--device-set', 'net0', '--type', config.network.type);
  if (config.disk_mb !== undefined) settings.push('--device-set', 'hdd0', '--size', String(config.disk_mb));
  return {
    vm: checkMachineRef('vm', vmNameOf(spec.instance_id)),
    source: checkMachineRef('parallels.source.vm', config.source.vm),
    linked: config.source.linked,
    settings,
    owner: config.owner !== undefined ? checkOwner('parallels.owner', config.owner) : defaultOwner,
  };
}
