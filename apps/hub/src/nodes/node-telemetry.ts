import type { DataSource } from 'typeorm';
import type { MetricsSample } from '@hostplane/protocol';

/** Bytes per second since the previous heartbeat, from the byte counters each sample carries. */
interface Rates {
  rxBps: number;
  txBps: number;
  diskReadBps: number;
  diskWriteBps: number;
}

interface Pending extends Rates {
  seenAt: Date;
  sample: MetricsSample | null;
}

interface LastCounters {
  at: number;
  rx: number;
  tx: number;
  diskRead: number;
  diskWritten: number;
}

const NO_RATES: Rates = { rxBps: 0, txBps: 0, diskReadBps: 0, diskWriteBps: 0 };

/**
 * Heartbeats arrive every few seconds from every node; writing each one would cost a round trip
 * per heartbeat. They are collected here and flushed in two statements per interval.
 */
export class NodeTelemetryWriter {
  private pending = new Map<string, Pending>();
  private counters = new Map<string, LastCounters>();
  private flushing: Promise<void> | null = null;

  constructor(private readonly db: DataSource) {}

  record(nodeId: string, sample: MetricsSample | null, now = Date.now()): void {
    let rates = NO_RATES;
    if (sample) {
      const next: LastCounters = {
        at: now,
        rx: sample.net_rx_bytes,
        tx: sample.net_tx_bytes,
        diskRead: sample.disk_read_bytes,
        diskWritten: sample.disk_written_bytes,
      };
      const last = this.counters.get(nodeId);
      if (last && now > last.at) {
        const dt = (now - last.at) / 1000;
        // A counter that went down was reset (reboot, agent restart): no rate for this interval.
        const rate = (key: keyof Omit<LastCounters, 'at'>) =>
          next[key] >= last[key] ? (next[key] - last[key]) / dt : 0;
        const netReset = next.rx < last.rx || next.tx < last.tx;
        const diskReset = next.diskRead < last.diskRead || next.diskWritten < last.diskWritten;
        rates = {
          rxBps: netReset ? 0 : rate('rx'),
          txBps: netReset ? 0 : rate('tx'),
          diskReadBps: diskReset ? 0 : rate('diskRead'),
          diskWriteBps: diskReset ? 0 : rate('diskWritten'),
        };
      }
      this.counters.set(nodeId, next);
    }
    this.pending.set(nodeId, { seenAt: new Date(now), sample, ...rates });
  }

  forget(nodeId: string): void {
    this.counters.delete(nodeId);
  }

  get backlog(): number {
    return this.pending.size;
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async write(batch: Map<string, Pending>): Promise<void> {
    const ids = [...batch.keys()];
    await this.db.query(
      `UPDATE nodes SET last_seen_at = v.seen FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, seen)
       WHERE nodes.id = v.id AND (nodes.last_seen_at IS NULL OR nodes.last_seen_at < v.seen)`,
      [ids, ids.map((id) => batch.get(id)!.seenAt.toISOString())],
    );
    const withMetrics = ids.filter((id) => batch.get(id)!.sample);
    if (withMetrics.length === 0) return;
    const col = <T>(f: (p: Pending, s: MetricsSample) => T) =>
      withMetrics.map((id) => f(batch.get(id)!, batch.get(id)!.sample!));
    await this.db.query(
      `INSERT INTO node_metrics (node_id, ts, cpu_percent, memory_used_bytes, memory_total_bytes, disk_used_bytes, disk_total_bytes,
                                 net_rx_bps, net_tx_bps, load1, load5, load15, disk_read_bps, disk_write_bps)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::real[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                            $8::real[], $9::real[], $10::real[], $11::real[], $12::real[], $13::real[], $14::real[])
       ON CONFLICT DO NOTHING`,
      [
        withMetrics,
        col((p) => p.seenAt.toISOString()),
        col((_, s) => s.cpu_percent),
        col((_, s) => Math.round(s.memory_used_bytes)),
        col((_, s) => Math.round(s.memory_total_bytes)),
        col((_, s) => Math.round(s.disk_used_bytes)),
        col((_, s) => Math.round(s.disk_total_bytes)),
        col((p) => p.rxBps),
        col((p) => p.txBps),
        col((_, s) => s.load1),
        col((_, s) => s.load5),
        col((_, s) => s.load15),
        col((p) => p.diskReadBps),
        col((p) => p.diskWriteBps),
      ],
    );
  }
}
