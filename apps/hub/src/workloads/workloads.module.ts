import { Module } from '@nestjs/common';
import { RegistriesModule } from '../registries/registries.module';
import { TemplatesController } from './templates.controller';
import { WorkloadsController } from './workloads.controller';
import { WorkloadsService } from './workloads.service';

@Module({
  imports: [RegistriesModule],
  providers: [WorkloadsService],
  controllers: [WorkloadsController, TemplatesController],
  exports: [WorkloadsService],
})
export class WorkloadsModule {}
