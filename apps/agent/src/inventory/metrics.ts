import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { MetricsSample } from '@hostplane/protocol';
import { runCommand } from '../exec/run-command';
import { collectDisks, DiskInventory } from './disks';
import { readDiskIoCounters } from './disk-io';

interface CpuTimes {
  busy: number;
  total: number;
}

export interface NetworkCounters {
  rxBytes: number;
  txBytes: number;
}

/**
 * One heartbeat's worth of host metrics. CPU % is measured between two samples (the first
 * against the moment the sampler was created), not averaged since boot.
 */
export class MetricsSampler {
  private lastCpu = readCpuTimes();

  constructor(private readonly disks: () => Promise<DiskInventory[]> = collectDisks) {}

  async sample(): Promise<MetricsSample> {
    const cpu = readCpuTimes();
    const busy = cpu.busy - this.lastCpu.busy;
    const total = cpu.total - this.lastCpu.total;
    this.lastCpu = cpu;
    const [disk, net, io] = await Promise.all([
      this.diskTotals(),
      readNetworkCounters().catch(() => ({ rxBytes: 0, txBytes: 0 })),
      readDiskIoCounters().catch(() => ({ readBytes: 0, writtenBytes: 0 })),
    ]);
    const [load1, load5, load15] = os.loadavg() as [number, number, number];
    const totalMem = os.totalmem();
    return {
      ts: new Date().toISOString(),
      cpu_percent: total > 0 ? Math.min(100, Math.max(0, Math.round((busy / total) * 10_000) / 100)) : 0,
      memory_used_bytes: Math.max(0, totalMem - os.freemem()),
      memory_total_bytes: totalMem,
      disk_used_bytes: disk.used,
      disk_total_bytes: disk.total,
      net_rx_bytes: net.rxBytes,
      net_tx_bytes: net.txBytes,
      disk_read_bytes: io.readBytes,
      disk_written_bytes: io.writtenBytes,
      load1,
      load5,
      load15,
    };
  }

  /** Each filesystem counted once, however many times it is mounted. */
  private async diskTotals(): Promise<{ used: number; total: number }> {
    const seen = new Set<string>();
    let used = 0;
    let total = 0;
    for (const d of await this.disks().catch(() => [])) {
      if (seen.has(d.filesystem)) continue;
      seen.add(d.filesystem);
      used += d.used_bytes;
      total += d.size_bytes;
    }
    return { used, total };
  }
}

function readCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const b = times.user + times.nice + times.sys + times.irq;
    busy += b;
    total += b + times.idle;
  }
  return { busy, total };
}

/** Bytes received and sent since boot on every interface but loopback. */
export async function readNetworkCounters(): Promise<NetworkCounters> {
  if (process.platform === 'linux') return parseProcNetDev(await readFile('/proc/net/dev', 'utf8'));
  if (process.platform === 'darwin')
    return parseNetstatLinkBytes((await runCommand(['netstat', '-ibn'], { timeoutMs: 5000 })).stdout);
  if (process.platform === 'sunos')
    return parseKstatLinkBytes(
      (await runCommand(['kstat', '-p', 'link:::rbytes64', 'link:::obytes64'], { timeoutMs: 5000 })).stdout,
    );
  return { rxBytes: 0, txBytes: 0 };
}

/** Linux `/proc/net/dev`: "iface: rx_bytes rx_packets … (8 rx columns) tx_bytes …". */
export function parseProcNetDev(text: string): NetworkCounters {
  const c: NetworkCounters = { rxBytes: 0, txBytes: 0 };
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!name || rest === undefined || name.trim() === 'lo') continue;
    const cols = rest.trim().split(/\s+/).map(Number);
    c.rxBytes += cols[0] ?? 0;
    c.txBytes += cols[8] ?? 0;
  }
  return c;
}

/**
 * macOS `netstat -ibn`: one `<Link#n>` row per interface; Ibytes and Obytes counted from the right (Address may be
 * blank).
 */
export function parseNetstatLinkBytes(text: string): NetworkCounters {
  const c: NetworkCounters = { rxBytes: 0, txBytes: 0 };
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (!cols[2]?.startsWith('<Link#') || cols[0]?.startsWith('lo')) continue;
    c.rxBytes += Number(cols[cols.length - 5]) || 0;
    c.txBytes += Number(cols[cols.length - 2]) || 0;
  }
  return c;
}

/** illumos `kstat -p link:::rbytes64 link:::obytes64`: "link:0:net0:rbytes64\t1234". */
export function parseKstatLinkBytes(text: string): NetworkCounters {
  const c: NetworkCounters = { rxBytes: 0, txBytes: 0 };
  for (const line of text.split('\n')) {
    const m = /^link:\d+:([^:]+):(rbytes64|obytes64)\s+(\d+)/.exec(line.trim());
    if (!m || m[1]?.startsWith('lo')) continue;
    if (m[2] === 'rbytes64') c.rxBytes += Number(m[3]);
    else c.txBytes += Number(m[3]);
  }
  return c;
}
