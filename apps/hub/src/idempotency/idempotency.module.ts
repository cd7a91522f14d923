import { Inject, Module, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule, DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';
import { PeriodicWork } from '../periodic/periodic-work';
import { checkIdempotencyDeclarations } from './idempotency-declarations';
import { PRUNE_EVERY_MS } from './idempotency-policy';
import { registerIdempotencyRecorder } from './idempotency-recorder';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyStore } from './idempotency.store';

/**
 * `Idempotency-Key` for every authenticated POST/PUT/PATCH/DELETE (docs/api.md, decision 0018):
 * the global interceptor claims or replays, the onSend hook keeps the answer, and a periodic
 * job removes expired keys once per cluster.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    IdempotencyStore,
    IdempotencyInterceptor,
    { provide: APP_INTERCEPTOR, useExisting: IdempotencyInterceptor },
  ],
  exports: [IdempotencyStore],
})
export class IdempotencyModule implements OnModuleInit, OnApplicationBootstrap {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
    private readonly periodic: PeriodicWork,
  ) {}

  onModuleInit(): void {
    registerIdempotencyRecorder(
      this.adapterHost.httpAdapter.getInstance<FastifyInstance>(),
      this.store,
      this.config.secrets.encryptionKey,
      this.log,
    );
  }

  onApplicationBootstrap(): void {
    checkIdempotencyDeclarations(this.discovery);
    this.periodic.register({ kind: 'idempotency.prune', everyMs: PRUNE_EVERY_MS, run: () => this.pruneExpired() });
  }

  async pruneExpired(): Promise<number> {
    try {
      const removed = await this.store.pruneExpired();
      if (removed) this.log.info({ removed }, 'removed expired idempotency keys');
      return removed;
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'pruning idempotency keys failed');
      return 0;
    }
  }
}
