import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { z } from 'zod';
import type { systemInventory } from '@hostplane/protocol';
import { runCommand } from '../exec/run-command';

export type SystemInventory = z.infer<typeof systemInventory>;

/** The OS family name the hub sees: illumos reports itself to Node as "sunos". */
export function hostOsName(): string {
  return process.platform === 'sunos' ? 'illumos' : process.platform;
}

export async function collectSystem(): Promise<SystemInventory> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    os: hostOsName(),
    platform: process.platform,
    release: await osRelease(),
    kernel: `${os.release()} ${os.version()}`.trim(),
    arch: process.arch,
    cpu_model: cpus[0]?.model.trim() || 'unknown',
    cpu_cores: cpus.length,
    memory_total_bytes: os.totalmem(),
    uptime_seconds: Math.floor(os.uptime()),
  };
}

/** A human name of the installed OS: the distribution on Linux, the release line on illumos. */
async function osRelease(): Promise<string> {
  try {
    if (process.platform === 'linux') {
      const text = await readFile('/etc/os-release', 'utf8');
      const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
      if (pretty?.[1]) return pretty[1];
    } else if (process.platform === 'sunos') {
      const first = (await readFile('/etc/release', 'utf8')).split('\n').find((l) => l.trim() !== '');
      if (first) return first.trim();
    } else if (process.platform === 'darwin') {
      const { stdout } = await runCommand(['sw_vers', '-productVersion'], { timeoutMs: 5000 });
      return `macOS ${stdout.trim()}`;
    }
  } catch {
    // Fall through to the kernel release: a missing release file is no reason to fail inventory.
  }
  return `${os.type()} ${os.release()}`;
}
