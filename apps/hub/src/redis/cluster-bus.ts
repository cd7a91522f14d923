import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { HUB_LOGGER } from '../http/logger';
import { type RedisClient, RedisService } from './redis.service';

type Handler = (message: Record<string, unknown>) => void;

/**
 * Messages between hub replicas over Redis pub/sub (one subscriber connection per process).
 * Pub/sub is lossy by design: every use of it has a periodic sweep behind it that repairs a
 * missed message.
 */
@Injectable()
export class ClusterBus implements OnApplicationShutdown {
  private subscriber?: RedisClient;
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(
    private readonly redis: RedisService,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {}

  private channel(topic: string): string {
    return this.redis.key('bus', topic);
  }

  on(topic: string, handler: Handler): void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      void this.sub()
        .subscribe(this.channel(topic))
        .catch((err: Error) => this.log.warn({ topic, reason: err.message }, 'bus subscribe failed'));
    }
    set.add(handler);
  }

  async publish(topic: string, message: Record<string, unknown>): Promise<void> {
    try {
      await this.redis.client.publish(this.channel(topic), JSON.stringify(message));
    } catch (err) {
      this.log.warn({ topic, reason: (err as Error).message }, 'bus publish failed; the periodic sweep will repair it');
    }
  }

  private sub(): RedisClient {
    if (this.subscriber) return this.subscriber;
    // No ready check: its INFO, sent after a SUBSCRIBE queued while connecting, is refused in
    // subscriber mode ("Connection in subscriber mode"), failing those subscriptions for good.
    const sub = this.redis.connect('subscriber', { enableReadyCheck: false });
    const prefix = this.redis.key('bus', '');
    sub.on('message', (channel: string, raw: string) => {
      const handlers = this.handlers.get(channel.slice(prefix.length));
      if (!handlers) return;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return;
      }
      for (const h of handlers) {
        try {
          h(message);
        } catch (err) {
          this.log.error({ err, channel }, 'bus handler failed');
        }
      }
    });
    this.subscriber = sub;
    return sub;
  }

  async onApplicationShutdown(): Promise<void> {
    this.handlers.clear();
  }
}
