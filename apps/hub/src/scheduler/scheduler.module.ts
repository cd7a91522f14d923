import { Module } from '@nestjs/common';
import { WorkloadsModule } from '../workloads/workloads.module';
import { PlannerController } from './planner.controller';
import { PlannerService } from './planner.service';

@Module({
  imports: [WorkloadsModule],
  providers: [PlannerService],
  controllers: [PlannerController],
  exports: [PlannerService],
})
export class SchedulerModule {}
