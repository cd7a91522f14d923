import { readdir, readFile } from 'node:fs/promises';
import { runCommand } from '../exec/run-command';

export interface DiskIoCounters {
  readBytes: number;
  writtenBytes: number;
}

const NONE: DiskIoCounters = { readBytes: 0, writtenBytes: 0 };

/**
 * Bytes read from and written to the host's whole disks since boot. Each byte is counted once:
 * a partition's I/O is already in its disk's counters, so partitions are left out, and so are
 * devices with no disk behind them (loop, ram, zram) whose I/O lands on a real disk or nowhere.
 */
export async function readDiskIoCounters(): Promise<DiskIoCounters> {
  if (process.platform === 'linux') {
    const [diskstats, dmNames] = await Promise.all([
      readFile('/proc/diskstats', 'utf8'),
      listBlockDevices().catch(() => null),
    ]);
    return parseProcDiskstats(diskstats, dmNames);
  }
  if (process.platform === 'darwin')
    return parseIoregBlockStorage(
      (await runCommand(['ioreg', '-c', 'IOBlockStorageDriver', '-r', '-w', '0'], { timeoutMs: 5000 })).stdout,
    );
  if (process.platform === 'sunos')
    return parseKstatDiskIo(
      (await runCommand(['kstat', '-p', '-c', 'disk', ':::nread', ':::nwritten'], { timeoutMs: 5000 })).stdout,
    );
  return { ...NONE };
}

/** The names under /sys/block: whole devices only (partitions live under their disk's directory). */
async function listBlockDevices(): Promise<Set<string>> {
  return new Set(await readdir('/sys/block'));
}

const VIRTUAL_DEVICE = /^(loop|ram|zram|dm-|md|fd|sr)\d+$/;

/**
 * Linux `/proc/diskstats`: "major minor name reads merged sectors_read ms writes merged
 * sectors_written ms …", sectors of 512 bytes whatever the device's block size. A whole device is
 * one listed in /sys/block (when given); without that list, a name ending in a partition number
 * after a disk name (sda1, nvme0n1p2, mmcblk0p1) is taken as a partition. Device-mapper and md
 * devices are left out too: their I/O is counted again on the disks beneath them.
 */
export function parseProcDiskstats(text: string, wholeDevices: Set<string> | null = null): DiskIoCounters {
  const c: DiskIoCounters = { ...NONE };
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const name = cols[2];
    if (!name || cols.length < 10 || VIRTUAL_DEVICE.test(name)) continue;
    if (wholeDevices ? !wholeDevices.has(name) : isPartitionName(name)) continue;
    c.readBytes += (Number(cols[5]) || 0) * 512;
    c.writtenBytes += (Number(cols[9]) || 0) * 512;
  }
  return c;
}

function isPartitionName(name: string): boolean {
  // nvme0n1p1 and mmcblk0p1 number partitions with "p<N>" after a digit; sda1, vdb2, xvda1 right after the letters.
  return /\dp\d+$/.test(name) || /^(sd|vd|xvd|hd)[a-z]+\d+$/.test(name);
}

/**
 * illumos `kstat -p -c disk :::nread :::nwritten`: "sd:0:sd0:nread\t12345". The disk class holds
 * one I/O kstat per whole disk (sd, blkdev, cmdk); partitions are in the partition class and
 * are not asked for.
 */
export function parseKstatDiskIo(text: string): DiskIoCounters {
  const c: DiskIoCounters = { ...NONE };
  for (const line of text.split('\n')) {
    const m = /^[^:\s]+:\d+:[^:\s]+:(nread|nwritten)\s+(\d+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'nread') c.readBytes += Number(m[2]);
    else c.writtenBytes += Number(m[2]);
  }
  return c;
}

/**
 * macOS `ioreg -c IOBlockStorageDriver -r -w 0`: each driver (one per whole disk) carries a
 * "Statistics" dictionary with "Bytes (Read)" and "Bytes (Write)".
 */
export function parseIoregBlockStorage(text: string): DiskIoCounters {
  const c: DiskIoCounters = { ...NONE };
  for (const m of text.matchAll(/"Statistics" = \{([^}]*)\}/g)) {
    const stats = m[1] ?? '';
    c.readBytes += Number(/"Bytes \(Read\)"=(\d+)/.exec(stats)?.[1] ?? 0);
    c.writtenBytes += Number(/"Bytes \(Write\)"=(\d+)/.exec(stats)?.[1] ?? 0);
  }
  return c;
}
