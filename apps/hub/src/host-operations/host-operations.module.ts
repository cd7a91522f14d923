import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { HostOperationsService } from './host-operations.service';

/** The host-operation table of nodes (illumos resources, Parallels machines), for the domains that expose it. */
@Module({
  imports: [NodesModule, JobsModule],
  providers: [HostOperationsService],
  exports: [HostOperationsService],
})
export class HostOperationsModule {}
