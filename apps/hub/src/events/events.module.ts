import { Global, Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsGateway } from './events.gateway';
import { EventsService } from './events.service';

@Global()
@Module({ providers: [EventsService, EventsGateway], controllers: [EventsController], exports: [EventsService, EventsGateway] })
export class EventsModule {}
