/** CPU, memory and network of a one-shot `/containers/{id}/stats?stream=false` answer (zeros when stopped). */
export function dockerStats(raw: Record<string, unknown> | null): {
  cpu_percent: number;
  memory_bytes: number;
  net_rx_bytes: number;
  net_tx_bytes: number;
} {
  if (!raw) return { cpu_percent: 0, memory_bytes: 0, net_rx_bytes: 0, net_tx_bytes: 0 };
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const cpu = (raw.cpu_stats ?? {}) as {
    cpu_usage?: { total_usage?: number };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  const pre = (raw.precpu_stats ?? {}) as typeof cpu;
  const cpuDelta = num(cpu.cpu_usage?.total_usage) - num(pre.cpu_usage?.total_usage);
  const systemDelta = num(cpu.system_cpu_usage) - num(pre.system_cpu_usage);
  const cpus = num(cpu.online_cpus) || 1;
  const mem = (raw.memory_stats ?? {}) as { usage?: number; stats?: { inactive_file?: number; cache?: number } };
  const memory = Math.max(0, num(mem.usage) - num(mem.stats?.inactive_file ?? mem.stats?.cache));
  let rx = 0;
  let tx = 0;
  for (const n of Object.values((raw.networks ?? {}) as Record<string, { rx_bytes?: number; tx_bytes?: number }>)) {
    rx += num(n.rx_bytes);
    tx += num(n.tx_bytes);
  }
  return {
    cpu_percent: cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0,
    memory_bytes: memory,
    net_rx_bytes: rx,
    net_tx_bytes: tx,
  };
}
