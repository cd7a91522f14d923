import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { ClusterBus } from '../redis/cluster-bus';
import { type RedisClient, RedisService } from '../redis/redis.service';

export interface NodeJobData {
  opId: string;
  orgId: string;
  kind: string;
  payload: unknown;
  resource: string | null;
  deadlineAt: string | null;
  createdAt: string;
}

const MAX_CACHED_QUEUES = 2000;
/** Bus topic of job wake-ups (`wake`) and cancel requests (`cancel`) for the node's owner replica. */
export const JOBS_TOPIC = 'jobs';

/**
 * One BullMQ queue per node. Queue objects share one Redis connection, so they cost no
 * connections however many nodes there are; the queue name is a `{hash tag}` so that on Redis
 * Cluster each node's keys live on one shard and nodes spread over shards.
 */
@Injectable()
export class JobQueues implements OnApplicationShutdown {
  readonly connection: RedisClient;
  readonly prefix: string;
  private readonly queues = new Map<string, Queue<NodeJobData>>();

  constructor(
    redis: RedisService,
    private readonly bus: ClusterBus,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {
    this.connection = redis.connect('bullmq');
    this.prefix = redis.key('bull');
  }

  /** Redis set of nodes that may have queued work: the sweep's list of workers to wake. */
  get workSetKey(): string {
    return `${this.prefix}:nodes-with-work`;
  }

  queueName(nodeId: string): string {
    return `{node-${nodeId}}`;
  }

  retentionSeconds(): number {
    // Completed job ids must outlive any redelivery, so that an `add` with the same id is ignored.
    return Math.max(7 * 86_400, this.config.jobs.defaultDeadlineSeconds);
  }

  forNode(nodeId: string): Queue<NodeJobData> {
    let q = this.queues.get(nodeId);
    if (q) {
      this.queues.delete(nodeId);
      this.queues.set(nodeId, q);
      return q;
    }
    q = new Queue<NodeJobData>(this.queueName(nodeId), {
      connection: this.connection,
      prefix: this.prefix,
      streams: { events: { maxLen: 100 } },
    });
    this.queues.set(nodeId, q);
    if (this.queues.size > MAX_CACHED_QUEUES) {
      const [oldestId, oldest] = this.queues.entries().next().value as [string, Queue<NodeJobData>];
      this.queues.delete(oldestId);
      void oldest.close();
    }
    return q;
  }

  async add(nodeId: string, data: NodeJobData): Promise<void> {
    const age = this.retentionSeconds();
    await this.forNode(nodeId).add(data.kind, data, {
      jobId: data.opId,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age },
      removeOnFail: { age },
    });
    await this.connection.sadd(this.workSetKey, nodeId);
  }

  /** Adds the job and wakes the replica that holds the node's socket (the sweep repairs a lost wake-up). */
  async addAndWake(nodeId: string, data: NodeJobData): Promise<void> {
    await this.add(nodeId, data);
    await this.bus.publish(JOBS_TOPIC, { type: 'wake', nodeId });
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
  }
}
