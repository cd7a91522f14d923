import { Module } from '@nestjs/common';
import { HostOperationsModule } from '../host-operations/host-operations.module';
import { NodesModule } from '../nodes/nodes.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { HostOperationsController } from './host-operations.controller';
import { HostResourcesController } from './host-resources.controller';
import { HostResourcesService } from './host-resources.service';
import { ZoneConsoles } from './zone-consoles';

/**
 * illumos host resources of nodes (zones, network, storage, system) over the agent's host-operation
 * table, and the zone console, shell and VNC WebSockets.
 */
@Module({
  imports: [HostOperationsModule, NodesModule, TunnelModule],
  providers: [HostResourcesService, ZoneConsoles],
  controllers: [HostOperationsController, HostResourcesController],
})
export class ZonesModule {}
