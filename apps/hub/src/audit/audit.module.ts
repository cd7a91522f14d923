import { Global, Module, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { discoverRoutes } from '../http/route-discovery';
import { AUDITED, AuditedRoute } from './audit-note';
import { AuditSubscriptions } from './audit-subscriptions';
import { AuditController } from './audit.controller';
import { registerAuditHook } from './audit.hook';
import { AuditService } from './audit.service';

@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [AuditController],
  providers: [AuditService, AuditSubscriptions],
  exports: [AuditService],
})
export class AuditModule implements OnModuleInit, OnApplicationBootstrap {
  private readonly actions = new Map<string, AuditedRoute>();

  constructor(
    private readonly audit: AuditService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly discovery: DiscoveryService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    registerAuditHook(fastify, this.audit, (method, path) => this.actions.get(`${method} ${path}`));
  }

  onApplicationBootstrap(): void {
    for (const r of discoverRoutes(this.discovery)) {
      const declared = Reflect.getMetadata(AUDITED, r.handler) as AuditedRoute | undefined;
      if (declared) this.actions.set(`${r.method} ${r.path}`, declared);
    }
  }
}
