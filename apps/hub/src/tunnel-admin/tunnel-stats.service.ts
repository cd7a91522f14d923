import { inOneTrip } from '../redis/redis-batches';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobDelivery } from '../jobs/job-delivery';
import { JobQueues } from '../jobs/job-queues';
import { NodeWorkers } from '../jobs/node-workers';
import { scanKeys } from '../redis/redis-batches';
import { RedisService } from '../redis/redis.service';
import { HUB_INSTANCE_ID } from '../tunnel/hub-instance';
import { NodeStreams } from '../tunnel/relay/node-streams';
import { RelayServer } from '../tunnel/relay/relay-server';
import { TunnelServer } from '../tunnel/tunnel.server';

export interface AgentRow {
  node_id: string;
  org_id: string;
  hostname: string | null;
  agent_version: string | null;
  instance: string;
  epoch: number;
  connected_at: string;
  last_heartbeat_at: string;
  messages_in: number;
  running_jobs: number;
}

/** Numbers for operators: this replica's tunnel, plus cluster-wide views from Redis and Postgres. */
@Injectable()
export class TunnelStatsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private last = { at: Date.now(), in: 0, out: 0 };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly tunnel: TunnelServer,
    private readonly nodeStreams: NodeStreams,
    private readonly relay: RelayServer,
    private readonly workers: NodeWorkers,
    private readonly delivery: JobDelivery,
    private readonly queues: JobQueues,
    private readonly redis: RedisService,
    @Inject(DataSource) private readonly db: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.publishLocal().catch(() => undefined), 10_000);
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    void this.redis.client.del(this.redis.key('tunnel', 'agents', HUB_INSTANCE_ID)).catch(() => undefined);
  }

  async snapshot() {
    const c = this.tunnel.counters;
    const now = Date.now();
    const dt = Math.max(0.001, (now - this.last.at) / 1000);
    const rates = { in: (c.messagesIn - this.last.in) / dt, out: (c.messagesOut - this.last.out) / dt };
    this.last = { at: now, in: c.messagesIn, out: c.messagesOut };
    const [counts, queueDepth] = await Promise.all([
      this.db.query(`SELECT status, count(*)::int AS n FROM nodes GROUP BY status`) as Promise<
        { status: string; n: number }[]
      >,
      this.queueDepths(),
    ]);
    const byStatus = Object.fromEntries(counts.map((r) => [r.status, r.n]));
    return {
      instance: HUB_INSTANCE_ID,
      connected_agents: this.tunnel.localSessions().length,
      open_streams: this.tunnel.streams.openCount,
      relayed_streams: { out: this.nodeStreams.relayedOut, in: this.relay.relayedIn },
      active_job_workers: this.workers.activeWorkers,
      jobs_in_flight: this.delivery.inFlight,
      messages_in_per_second: Math.round(rates.in * 10) / 10,
      messages_out_per_second: Math.round(rates.out * 10) / 10,
      bytes_in_total: c.bytesIn,
      bytes_out_total: c.bytesOut,
      connects_total: c.connects,
      refused_total: c.refused,
      invalid_frames_total: c.invalidFrames,
      queues: queueDepth,
      cluster: {
        online_nodes: byStatus.online ?? 0,
        offline_nodes: byStatus.offline ?? 0,
        pending_nodes: byStatus.pending ?? 0,
      },
    };
  }

  private async queueDepths() {
    const nodes = await this.queues.connection.smembers(this.queues.workSetKey);
    const totals = { nodes_with_work: nodes.length, waiting: 0, active: 0, delayed: 0 };
    for (const id of nodes.slice(0, 500)) {
      const c = await this.queues.forNode(id).getJobCounts('waiting', 'active', 'delayed');
      totals.waiting += c.waiting ?? 0;
      totals.active += c.active ?? 0;
      totals.delayed += c.delayed ?? 0;
    }
    return totals;
  }

  /** Each replica publishes its sessions to a short-lived Redis hash; this reads all of them. */
  async agents(): Promise<{ data: AgentRow[]; total: number }> {
    await this.publishLocal();
    const keys = await scanKeys(this.redis.client, this.redis.key('tunnel', 'agents', '*'));
    const perReplica = await inOneTrip(
      this.redis.client,
      keys.map((key) => (r) => r.hvals(key)),
    );
    const data = perReplica.flatMap(([err, entries]) => {
      if (err) throw err;
      return (entries as string[]).map((e) => JSON.parse(e) as AgentRow);
    });
    data.sort((a, b) => a.connected_at.localeCompare(b.connected_at));
    return { data, total: data.length };
  }

  async publishLocal(): Promise<void> {
    const key = this.redis.key('tunnel', 'agents', HUB_INSTANCE_ID);
    const rows = this.tunnel.localSessions().map((s): AgentRow => ({
      node_id: s.nodeId,
      org_id: s.orgId,
      hostname: s.hello?.hostname ?? null,
      agent_version: s.hello?.agent_version ?? null,
      instance: HUB_INSTANCE_ID,
      epoch: s.epoch,
      connected_at: new Date(s.connectedAt).toISOString(),
      last_heartbeat_at: new Date(s.lastHeartbeatAt).toISOString(),
      messages_in: s.messagesIn,
      running_jobs: s.runningJobs.length,
    }));
    const pipe = this.redis.client.multi().del(key);
    if (rows.length) pipe.hset(key, Object.fromEntries(rows.map((r) => [r.node_id, JSON.stringify(r)])));
    await pipe.pexpire(key, 30_000).exec();
  }
}
