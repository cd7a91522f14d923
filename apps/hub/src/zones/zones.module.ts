import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { HostOperationsController } from './host-operations.controller';
import { HostOperationsService } from './host-operations.service';
import { HostResourcesController } from './host-resources.controller';
import { HostResourcesService } from './host-resources.service';

/** illumos host resources of nodes (zones, network, storage, system) over the agent's host-operation table. */
@Module({
  imports: [NodesModule, JobsModule],
  providers: [HostOperationsService, HostResourcesService],
  controllers: [HostOperationsController, HostResourcesController],
})
export class ZonesModule {}
