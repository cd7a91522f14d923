import { open, stat, statfs } from 'node:fs/promises';
import {
  PARALLELS_INVENTORY_MACHINES_CAP,
  type ParallelsHostHardware,
  type ParallelsInventory,
  type ParallelsLicense,
} from '@hostplane/protocol';
import type { PrlHost } from './prl-host';
import { parseSysctlHardware, type PrlServerInfo } from './prl-parsers';

/** The most of the service log read for one answer, however many lines are asked for. */
export const SERVICE_LOG_WINDOW_BYTES = 512 * 1024;

const SYSCTL_NAMES = ['hw.machine', 'hw.logicalcpu', 'hw.memsize', 'machdep.cpu.brand_string'];

/** The Mac's hardware: CPU and memory from `sysctl`, devices from `prlsrvctl info`, disk from the VM home's volume. */
export async function hostHardware(host: PrlHost, info: PrlServerInfo): Promise<ParallelsHostHardware> {
  const sys = parseSysctlHardware((await host.exec.run(['sysctl', '-n', ...SYSCTL_NAMES])).stdout);
  const volume = await statfs(info.vm_home || '/').catch(() => null);
  return {
    ...sys,
    disk_total_bytes: volume ? volume.blocks * volume.bsize : 0,
    disk_free_bytes: volume ? volume.bavail * volume.bsize : 0,
    devices: info.devices,
  };
}

/** The licence terms, the macOS guest limit taken from the agent's setting where one is given. */
export function licenseOf(info: PrlServerInfo, macosVmLimitSetting: number | null): ParallelsLicense {
  const { restricted: _restricted, ...license } = info.license;
  const source =
    macosVmLimitSetting !== null ? 'agent_config' : info.license.macos_vm_limit !== null ? 'license' : 'none';
  return {
    ...license,
    macos_vm_limit: macosVmLimitSetting ?? info.license.macos_vm_limit,
    macos_vm_limit_source: source,
  };
}

/**
 * The Parallels section of the inventory: host, licence, hardware and every VM's size and state.
 * The host part changes rarely and costs three commands: it is read again after `hostMaxAgeMs`;
 * the VM list (one `prlctl list`) is read on every round, as VMs start and stop.
 */
export class ParallelsInventoryCollector {
  private host: {
    info: PrlServerInfo;
    hardware: ParallelsHostHardware;
    users: ParallelsInventory['users'];
    readAt: number;
  } | null = null;

  constructor(
    private readonly prl: PrlHost,
    private readonly hostMaxAgeMs = 60_000,
  ) {}

  async collect(): Promise<ParallelsInventory> {
    if (!this.host || Date.now() - this.host.readAt > this.hostMaxAgeMs) {
      const info = await this.prl.serverInfo();
      const [hardware, users] = await Promise.all([hostHardware(this.prl, info), this.prl.users()]);
      this.host = { info, hardware, users, readAt: Date.now() };
    }
    const { info, hardware, users } = this.host;
    const machines = await this.prl.machines();
    return {
      hostname: info.hostname,
      version: info.version,
      vm_home: info.vm_home,
      license: licenseOf(info, this.prl.macosVmLimit),
      hardware,
      machines: machines.slice(0, PARALLELS_INVENTORY_MACHINES_CAP).map((m) => ({
        id: m.id,
        name: m.name,
        state: m.state,
        os: m.os,
        template: m.template,
        cpus: m.cpus,
        memory_bytes: m.memory_bytes,
        disk_bytes: m.disk_bytes,
      })),
      truncated: machines.length > PARALLELS_INVENTORY_MACHINES_CAP,
      users,
    };
  }
}

/**
 * The last `lines` lines of the Parallels service log, from at most the last 512 KiB of the file
 * (`truncated` when the file is longer than that window): a log of any size costs one bounded read.
 */
export async function serviceLogTail(
  file: string,
  lines: number,
): Promise<{ file: string; exists: boolean; size_bytes: number; lines: string[]; truncated: boolean }> {
  const size = await stat(file).then(
    (s) => s.size,
    () => null,
  );
  if (size === null) return { file, exists: false, size_bytes: 0, lines: [], truncated: false };
  const length = Math.min(size, SERVICE_LOG_WINDOW_BYTES);
  const buf = Buffer.alloc(length);
  const fh = await open(file, 'r');
  try {
    await fh.read(buf, 0, length, size - length);
  } finally {
    await fh.close();
  }
  const all = buf.toString('utf8').split('\n');
  if (all.at(-1) === '') all.pop();
  // The window's first line is partial when the window does not start at the file's beginning.
  if (length < size) all.shift();
  return {
    file,
    exists: true,
    size_bytes: size,
    lines: all.slice(-lines),
    truncated: length < size || all.length > lines,
  };
}
