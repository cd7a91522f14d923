import type { InstanceSpec, ZoneInstanceConfig } from '@hostplane/protocol';
import { zoneInstanceConfig } from '@hostplane/protocol';
import {
  checkDataset,
  checkHostPath,
  checkMac,
  checkName,
  checkPositiveInt,
  checkProperty,
  checkSize,
  checkSnapshot,
  checkVlanId,
} from '@hostplane/protocol';

/** Where the agent puts zones: zonepaths under one directory, their datasets under one dataset. */
export interface ZoneLayout {
  zonepathRoot: string;
  datasetRoot: string;
}

export interface ZoneVnicPlan {
  name: string;
  over: string;
  vlanId: number | null;
  mac: string | null;
  allowedAddress: string | null;
  defrouter: string | null;
}

/** Everything the driver will ask of the host for one instance, validated before the first command. */
export interface ZonePlan {
  zone: string;
  zonepath: string;
  /** The zonepath's dataset (zoneadm install creates it; the boot disk lives below it). */
  dataset: string;
  brand: ZoneInstanceConfig['brand'];
  bhyve: boolean;
  ram: string | null;
  vcpus: number | null;
  bootDisk: { dataset: string; size: string; image: string | null } | null;
  iso: string | null;
  vnics: ZoneVnicPlan[];
  attrs: Record<string, string>;
  autoboot: boolean;
}

/** `hp-<instance id>`: a valid zone name (letter first, 39 characters) that names its instance. */
export function zoneNameOf(instanceId: string): string {
  return `hp-${instanceId}`;
}

/** dladm link names end in a digit and have at most 31 characters. */
function defaultVnicName(instanceId: string, index: number): string {
  return `hp${instanceId.replace(/-/g, '').slice(0, 12)}${index}`;
}

function bytesToSize(bytes: number): string {
  const mib = Math.max(1, Math.ceil(bytes / (1024 * 1024)));
  return mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`;
}

export function planZone(spec: InstanceSpec, layout: ZoneLayout): ZonePlan {
  const config = spec.zone ?? zoneInstanceConfig.parse({});
  const zone = checkName('zone', zoneNameOf(spec.instance_id));
  const dataset = checkDataset('dataset', `${checkDataset('dataset_root', layout.datasetRoot)}/${zone}`);
  const bhyve = config.brand === 'bhyve';
  const ram = config.ram
    ? checkSize('zone.ram', config.ram)
    : spec.resources.memory_bytes
      ? bytesToSize(spec.resources.memory_bytes)
      : null;
  const vcpus = config.vcpus
    ? checkPositiveInt('zone.vcpus', config.vcpus, 256)
    : spec.resources.cpu_cores
      ? Math.max(1, Math.ceil(spec.resources.cpu_cores))
      : null;
  const bootDisk = config.boot_disk
    ? {
        dataset: `${dataset}/disk0`,
        size: checkSize('zone.boot_disk.size', config.boot_disk.size),
        image: config.boot_disk.image ? checkSnapshot('zone.boot_disk.image', config.boot_disk.image) : null,
      }
    : bhyve
      ? {
          dataset: `${dataset}/disk0`,
          size: spec.resources.disk_bytes ? bytesToSize(spec.resources.disk_bytes) : '20G',
          image: null,
        }
      : null;
  const vnics = config.vnics.map((v, i) => ({
    name: checkName(`zone.vnics[${i}].name`, v.name ?? defaultVnicName(spec.instance_id, i)),
    over: checkName(`zone.vnics[${i}].over`, v.over),
    vlanId: v.vlan_id === undefined ? null : checkVlanId(`zone.vnics[${i}].vlan_id`, v.vlan_id),
    mac: v.mac === undefined ? null : checkMac(`zone.vnics[${i}].mac`, v.mac),
    allowedAddress: v.allowed_address ?? null,
    defrouter: v.defrouter ?? null,
  }));
  for (const [k, v] of Object.entries(config.attrs)) checkProperty(`zone.attrs.${k}`, k, v);
  return {
    zone,
    zonepath: checkHostPath('zonepath', `${layout.zonepathRoot}/${zone}`),
    dataset,
    brand: config.brand,
    bhyve,
    ram,
    vcpus,
    bootDisk,
    iso: config.iso ? checkHostPath('zone.iso', config.iso) : null,
    vnics,
    attrs: config.attrs,
    autoboot: config.autoboot,
  };
}

/** The zonecfg command file that configures the zone (values are validated: no quoting needed). */
export function zonecfgScript(plan: ZonePlan): string {
  const lines = [
    'create -b',
    `set zonepath=${plan.zonepath}`,
    `set brand=${plan.brand}`,
    `set autoboot=${plan.autoboot}`,
    'set ip-type=exclusive',
  ];
  const attr = (name: string, value: string) =>
    lines.push('add attr', `set name=${name}`, 'set type=string', `set value=${value}`, 'end');
  for (const v of plan.vnics) {
    lines.push('add net', `set physical=${v.name}`);
    if (v.allowedAddress) lines.push(`set allowed-address=${v.allowedAddress}`);
    if (v.defrouter) lines.push(`set defrouter=${v.defrouter}`);
    lines.push('end');
  }
  if (plan.bhyve) {
    if (plan.bootDisk) {
      lines.push('add device', `set match=/dev/zvol/rdsk/${plan.bootDisk.dataset}`, 'end');
      attr('bootdisk', plan.bootDisk.dataset);
    }
    if (plan.ram) attr('ram', plan.ram);
    if (plan.vcpus) attr('vcpus', String(plan.vcpus));
    if (plan.iso) {
      lines.push(
        'add fs',
        `set dir=${plan.iso}`,
        `set special=${plan.iso}`,
        'set type=lofs',
        'add options ro',
        'add options nodevices',
        'end',
      );
      attr('cdrom', plan.iso);
    }
  } else {
    if (plan.ram) lines.push('add capped-memory', `set physical=${plan.ram}`, 'end');
    if (plan.vcpus) lines.push('add capped-cpu', `set ncpus=${plan.vcpus}`, 'end');
  }
  for (const [name, value] of Object.entries(plan.attrs)) attr(name, value);
  lines.push('verify', 'commit');
  return lines.join('\n') + '\n';
}
