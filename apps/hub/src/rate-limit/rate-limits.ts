import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import type { RateLimitedError } from '../http/errors';
import { HUB_LOGGER } from '../http/logger';
import { RedisService } from '../redis/redis.service';
import { registerRateLimit, upgradeAdmission, type UpgradeAdmission } from './rate-limit.hook';
import { RateLimiter } from './rate-limiter';

/**
 * The per-client request windows, shared by HTTP requests (a Fastify hook the app factory
 * installs with `registerHttpHook`) and WebSocket upgrades (`admitUpgrade`, which the WS router
 * injects: without this provider the hub does not boot, instead of admitting every upgrade).
 */
@Injectable()
export class RateLimits {
  readonly limiter: RateLimiter;
  private lastWarning = 0;
  private readonly upgrade: UpgradeAdmission;

  constructor(
    readonly redis: RedisService,
    @Inject(HUB_CONFIG) readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    this.limiter = new RateLimiter(redis.client);
    this.upgrade = upgradeAdmission(this);
  }

  /** Redis unreachable: allow, with a warning at most every 10 s. */
  readonly failOpen = (err: unknown): void => {
    if (Date.now() - this.lastWarning > 10_000) {
      this.lastWarning = Date.now();
      this.log.warn({ reason: (err as Error).message }, 'rate limiter unavailable (redis), allowing requests');
    }
  };

  registerHttpHook(app: FastifyInstance): void {
    registerRateLimit(app, this);
  }

  admitUpgrade(req: IncomingMessage): Promise<RateLimitedError | null> {
    return this.upgrade(req);
  }
}
