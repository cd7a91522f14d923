import { Module } from '@nestjs/common';
import { HostOperationsModule } from '../host-operations/host-operations.module';
import { HostOperationsController } from './host-operations.controller';

/** illumos host resources of nodes (zones, network, storage, system) over the agent's host-operation table. */
@Module({
  imports: [HostOperationsModule],
  controllers: [HostOperationsController],
})
export class ZonesModule {}
