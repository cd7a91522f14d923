import { Injectable, OnModuleInit } from '@nestjs/common';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { AuditService } from './audit.service';

/** Audit rows for domain events that happen outside the request's own audit hook. */
@Injectable()
export class AuditSubscriptions implements OnModuleInit {
  constructor(
    private readonly audit: AuditService,
    private readonly domainEvents: DomainEventBus,
  ) {}

  onModuleInit(): void {
    this.domainEvents.on('api-token.first-used', (e) =>
      this.audit.record({
        actorType: 'api_token',
        actorId: e.userId,
        actorEmail: e.email,
        apiTokenId: e.tokenId,
        orgId: e.orgId,
        action: 'api_token.first_use',
        targetType: 'api_token',
        targetId: e.tokenId,
        outcome: 'success',
        ip: e.ip,
        userAgent: e.userAgent,
        requestId: e.requestId,
      }),
    );
  }
}
