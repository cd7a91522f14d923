import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { HUB_LOGGER } from '../http/logger';
import { ClusterBus } from '../redis/cluster-bus';
import { RedisService } from '../redis/redis.service';

export interface HubEvent {
  /** Redis stream id: increases monotonically within the organization. */
  id: string;
  org_id: string;
  type: string;
  ts: string;
  data: Record<string, unknown>;
}

export const EVENTS_TOPIC = 'events';
const STREAM_MAX_LEN = 10_000;

/**
 * Publishes user-visible events (node online/offline, operation progress and results, …).
 * Each is appended to its organization's capped Redis stream (so subscribers can replay from
 * an id) and broadcast to every replica for live delivery.
 */
@Injectable()
export class EventsService {
  constructor(
    private readonly redis: RedisService,
    private readonly bus: ClusterBus,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  streamKey(orgId: string): string {
    return this.redis.key('events', `{${orgId}}`);
  }

  async publish(orgId: string, type: string, data: Record<string, unknown>): Promise<HubEvent | null> {
    const ts = new Date().toISOString();
    try {
      const id = await this.redis.client.xadd(this.streamKey(orgId), 'MAXLEN', '~', STREAM_MAX_LEN, '*', 'type', type, 'ts', ts, 'data', JSON.stringify(data));
      if (!id) return null;
      const event: HubEvent = { id, org_id: orgId, type, ts, data };
      await this.bus.publish(EVENTS_TOPIC, event as unknown as Record<string, unknown>);
      return event;
    } catch (err) {
      this.log.warn({ type, reason: (err as Error).message }, 'event not published (redis unavailable)');
      return null;
    }
  }
}
