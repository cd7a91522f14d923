import { Global, Module } from '@nestjs/common';
import { DomainEventBus } from './domain-event-bus';

/** The in-process domain event bus, one per app, visible to every module. */
@Global()
@Module({ providers: [DomainEventBus], exports: [DomainEventBus] })
export class DomainEventsModule {}
