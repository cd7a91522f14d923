import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostOperationsModule } from '../host-operations/host-operations.module';
import { NodesModule } from '../nodes/nodes.module';
import { CrossHostMachinesController } from './cross-host-machines.controller';
import { MachineEventsRelay } from './machine-events';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';

/** Parallels Desktop VMs of macOS nodes (docs/api/machines.md). */
@Module({
  imports: [HostOperationsModule, NodesModule, EventsModule],
  providers: [MachinesService, MachineEventsRelay],
  controllers: [MachinesController, CrossHostMachinesController],
})
export class MachinesModule {}
