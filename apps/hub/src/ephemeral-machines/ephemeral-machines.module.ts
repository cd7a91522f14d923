import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostOperationsModule } from '../host-operations/host-operations.module';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { EphemeralJobs } from './ephemeral-jobs';
import { EphemeralLifecycle } from './ephemeral-lifecycle';
import { EphemeralMachinesController } from './ephemeral-machines.controller';
import { EphemeralMachinesService } from './ephemeral-machines.service';
import { EphemeralNodePicker } from './ephemeral-node-picker';
import { EphemeralReaper } from './ephemeral-reaper';

/** Ephemeral clones of Parallels VMs for CI, deleted at their TTL (docs/decisions/0038-ephemeral-clones.md). */
@Module({
  imports: [HostOperationsModule, NodesModule, JobsModule, EventsModule],
  providers: [EphemeralJobs, EphemeralLifecycle, EphemeralMachinesService, EphemeralNodePicker, EphemeralReaper],
  controllers: [EphemeralMachinesController],
})
export class EphemeralMachinesModule {}
