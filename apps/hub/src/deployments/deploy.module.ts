import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module';
import { JobsModule } from '../jobs/jobs.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { WorkloadsModule } from '../workloads/workloads.module';
import { DeployController } from './deploy.controller';
import { DeployService } from './deploy.service';

@Module({
  imports: [InstancesModule, WorkloadsModule, JobsModule, TunnelModule],
  providers: [DeployService],
  controllers: [DeployController],
})
export class DeployModule {}
