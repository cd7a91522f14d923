import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { NodeActionsController } from './node-actions.controller';
import { NodeInventoryController } from './node-inventory.controller';
import { NodeMetricsService } from './node-metrics.service';
import { NodeTerminal } from './node-terminal';
import { NodesController } from './nodes.controller';
import { NodesService } from './nodes.service';
import { RegistrationController } from './registration.controller';
import { RegistrationService } from './registration.service';

@Module({
  imports: [TunnelModule, JobsModule],
  providers: [NodesService, RegistrationService, NodeMetricsService, NodeTerminal],
  controllers: [NodesController, RegistrationController, NodeInventoryController, NodeActionsController],
  exports: [NodesService, NodeMetricsService],
})
export class NodesModule {}
