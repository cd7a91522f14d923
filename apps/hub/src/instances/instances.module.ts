import { Module } from '@nestjs/common';
import { AllocationsModule } from '../allocations/allocations.module';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { WorkloadsModule } from '../workloads/workloads.module';
import { InstanceLogsController } from './instance-logs.controller';
import { InstanceLogsService } from './instance-logs.service';
import { InstanceMetricsController } from './instance-metrics.controller';
import { InstanceMetricsService } from './instance-metrics.service';
import { InstancePlacement } from './instance-placement';
import { InstancePorts } from './instance-ports';
import { InstancePortsController } from './instance-ports.controller';
import { InstanceQueries } from './instance-queries';
import { InstanceReconciler } from './instance-reconciler';
import { InstanceStreams } from './instance-streams';
import { InstancesController } from './instances.controller';
import { InstancesService } from './instances.service';
import { LostInstances } from './lost-instances';

@Module({
  imports: [AllocationsModule, JobsModule, NodesModule, SchedulerModule, WorkloadsModule, TunnelModule],
  providers: [
    InstancesService,
    InstancePlacement,
    InstancePorts,
    InstanceQueries,
    InstanceReconciler,
    InstanceStreams,
    InstanceMetricsService,
    InstanceLogsService,
    LostInstances,
  ],
  controllers: [InstancesController, InstancePortsController, InstanceMetricsController, InstanceLogsController],
  exports: [InstancesService, InstanceQueries, InstancePlacement],
})
export class InstancesModule {}
