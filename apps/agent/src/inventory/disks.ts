import { readFile, statfs } from 'node:fs/promises';
import type { z } from 'zod';
import type { diskInventory } from '@hostplane/protocol';
import { runCommand } from '../exec/run-command';

export type DiskInventory = z.infer<typeof diskInventory>;

export interface MountEntry {
  device: string;
  mount: string;
  type: string;
}

/** Kernel and memory filesystems: not storage an operator plans capacity with. */
const PSEUDO_FILESYSTEMS = new Set([
  'proc',
  'sysfs',
  'devtmpfs',
  'devpts',
  'tmpfs',
  'ramfs',
  'cgroup',
  'cgroup2',
  'securityfs',
  'pstore',
  'bpf',
  'debugfs',
  'tracefs',
  'mqueue',
  'hugetlbfs',
  'configfs',
  'fusectl',
  'autofs',
  'binfmt_misc',
  'rpc_pipefs',
  'nsfs',
  'efivarfs',
  'selinuxfs',
  'squashfs',
  'fuse.gvfsd-fuse',
  'fuse.portal',
  'ctfs',
  'objfs',
  'sharefs',
  'mntfs',
  'fd',
  'lofs',
  'dev',
  'devfs',
  'bootfs',
  'nullfs',
]);

/**
 * Not statted on Linux: statfs on a hung server blocks one of libuv's few I/O threads for good,
 * and with them the job journal.
 */
const NETWORK_FILESYSTEMS = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'smbfs',
  'fuse.sshfs',
  '9p',
  'ceph',
  'glusterfs',
  'fuse.glusterfs',
  'afs',
  'lustre',
  'fuse.s3fs',
]);

export async function collectDisks(): Promise<DiskInventory[]> {
  const disks =
    process.platform === 'linux'
      ? await disksFromStatfs(parseMountTable(await readFile('/proc/mounts', 'utf8')))
      : await disksFromDf();
  return disks
    .filter((d) => d.mount === '/' || (d.size_bytes > 0 && !PSEUDO_FILESYSTEMS.has(d.type)))
    .sort((a, b) => a.mount.localeCompare(b.mount));
}

/**
 * `/proc/mounts` and illumos' `/etc/mnttab`: device, mount point, type, … per line, with
 * spaces in paths escaped as octal (`\040`). A later mount on the same point hides the earlier.
 */
export function parseMountTable(text: string): MountEntry[] {
  const byMount = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const [device, mount, type] = line.trim().split(/\s+/);
    if (!device || !mount || !type) continue;
    const unescaped = mount.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    byMount.delete(unescaped);
    byMount.set(unescaped, { device, mount: unescaped, type });
  }
  return [...byMount.values()];
}

async function disksFromStatfs(mounts: MountEntry[]): Promise<DiskInventory[]> {
  const out: DiskInventory[] = [];
  for (const m of mounts) {
    if ((PSEUDO_FILESYSTEMS.has(m.type) || NETWORK_FILESYSTEMS.has(m.type)) && m.mount !== '/') continue;
    try {
      const s = await statfs(m.mount);
      out.push({
        filesystem: m.device,
        mount: m.mount,
        type: m.type,
        size_bytes: s.blocks * s.bsize,
        used_bytes: (s.blocks - s.bfree) * s.bsize,
        available_bytes: s.bavail * s.bsize,
      });
    } catch {
      // A mount we may not stat (stale NFS, another user's FUSE) is skipped, not fatal.
    }
  }
  return out;
}

export interface DfEntry {
  filesystem: string;
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
}

/** POSIX `df -kP`: sizes in KiB; the filesystem and mount columns may contain spaces. */
export function parseDfPortable(text: string): DfEntry[] {
  const out: DfEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^(.*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+(\/.*)$/.exec(line.trimEnd());
    if (!m) continue;
    const [, filesystem, size, used, available, mount] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    out.push({
      filesystem,
      mount,
      sizeBytes: Number(size) * 1024,
      usedBytes: Number(used) * 1024,
      availableBytes: Number(available) * 1024,
    });
  }
  return out;
}

/** macOS `mount`: "/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)". */
export function parseDarwinMountOutput(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.+?) on (.+) \(([^,)]+)/.exec(line);
    if (m) out.push({ device: m[1] as string, mount: m[2] as string, type: m[3] as string });
  }
  return out;
}

async function disksFromDf(): Promise<DiskInventory[]> {
  const { stdout } = await runCommand(['df', '-kP'], { timeoutMs: 15_000 });
  const types = new Map<string, string>();
  try {
    const table =
      process.platform === 'darwin'
        ? parseDarwinMountOutput((await runCommand(['mount'], { timeoutMs: 5000 })).stdout)
        : parseMountTable(await readFile('/etc/mnttab', 'utf8'));
    for (const m of table) types.set(m.mount, m.type);
  } catch {
    // Without a mount table the sizes are still right; the type is reported as unknown.
  }
  return parseDfPortable(stdout).map((d) => ({
    filesystem: d.filesystem,
    mount: d.mount,
    type: types.get(d.mount) ?? 'unknown',
    size_bytes: d.sizeBytes,
    used_bytes: d.usedBytes,
    available_bytes: d.availableBytes,
  }));
}
