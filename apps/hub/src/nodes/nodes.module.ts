import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { HostViews } from './host-views';
import { NodeActionsController } from './node-actions.controller';
import { NodeContainersController } from './node-containers.controller';
import { NodeContainersService } from './node-containers.service';
import { NodeDrains } from './node-drains';
import { NodeInventoryController } from './node-inventory.controller';
import { NodeInventoryService } from './node-inventory.service';
import { NodeMetricsService } from './node-metrics.service';
import { NodeQueries } from './node-queries';
import { NodeStreamSockets } from './node-stream-sockets';
import { NodeTerminal } from './node-terminal';
import { NodesController } from './nodes.controller';
import { NodesService } from './nodes.service';
import { RegistrationController } from './registration.controller';
import { RegistrationService } from './registration.service';

@Module({
  imports: [TunnelModule, JobsModule],
  providers: [
    HostViews,
    NodesService,
    NodeDrains,
    NodeInventoryService,
    RegistrationService,
    NodeMetricsService,
    NodeTerminal,
    NodeStreamSockets,
    NodeQueries,
    NodeContainersService,
  ],
  controllers: [
    NodesController,
    RegistrationController,
    NodeInventoryController,
    NodeActionsController,
    NodeContainersController,
  ],
  exports: [NodesService, NodeMetricsService, NodeQueries, NodeStreamSockets],
})
export class NodesModule {}
