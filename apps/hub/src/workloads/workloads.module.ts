import { Module } from '@nestjs/common';
import { TemplatesController } from './templates.controller';
import { WorkloadsController } from './workloads.controller';
import { WorkloadsService } from './workloads.service';

@Module({
  providers: [WorkloadsService],
  controllers: [WorkloadsController, TemplatesController],
  exports: [WorkloadsService],
})
export class WorkloadsModule {}
