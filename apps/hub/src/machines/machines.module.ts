import { Module } from '@nestjs/common';
import { HostOperationsModule } from '../host-operations/host-operations.module';
import { NodesModule } from '../nodes/nodes.module';
import { CrossHostMachinesController } from './cross-host-machines.controller';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';

/** Parallels Desktop VMs of macOS nodes (docs/api/machines.md). */
@Module({
  imports: [HostOperationsModule, NodesModule],
  providers: [MachinesService],
  controllers: [MachinesController, CrossHostMachinesController],
})
export class MachinesModule {}
