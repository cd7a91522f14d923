import { Global, Module } from '@nestjs/common';
import { EventStreamController } from './event-stream.controller';
import { EventsController } from './events.controller';
import { EventsGateway } from './events.gateway';
import { EventsService } from './events.service';

@Global()
@Module({
  providers: [EventsService, EventsGateway],
  controllers: [EventsController, EventStreamController],
  exports: [EventsService, EventsGateway],
})
export class EventsModule {}
