import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { ReverseProxyController } from './reverse-proxy.controller';
import { ReverseProxyService } from './reverse-proxy.service';

/** The reverse proxy nodes run for their VMs (docs/api/machines.md, "Reverse proxy"). */
@Module({
  imports: [NodesModule, JobsModule],
  providers: [ReverseProxyService],
  controllers: [ReverseProxyController],
})
export class ReverseProxyModule {}
