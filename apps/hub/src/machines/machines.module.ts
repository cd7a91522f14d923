import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostOperationsModule } from '../host-operations/host-operations.module';
import { NodesModule } from '../nodes/nodes.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { CrossHostMachinesController } from './cross-host-machines.controller';
import { MachineEventsRelay } from './machine-events';
import { MachineGuestController } from './machine-guest.controller';
import { MachineGuestSockets } from './machine-guest-sockets';
import { MachineOrchestrator } from './machine-orchestrator.service';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';
import { OrchestratorController } from './orchestrator.controller';

/** Parallels Desktop VMs of macOS nodes (docs/api/machines.md). */
@Module({
  imports: [HostOperationsModule, NodesModule, EventsModule, TunnelModule],
  providers: [MachinesService, MachineEventsRelay, MachineGuestSockets, MachineOrchestrator],
  controllers: [MachinesController, CrossHostMachinesController, MachineGuestController, OrchestratorController],
})
export class MachinesModule {}
