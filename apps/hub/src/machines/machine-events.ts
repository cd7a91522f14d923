import { Injectable, OnModuleInit } from '@nestjs/common';
import { DomainEventBus } from '../domain-events/domain-event-bus';
import { EventsService } from '../events/events.service';

/**
 * Publishes what agents saw of their VMs (`machine.state_changed`, `machine.added`,
 * `machine.removed`, `machine.snapshots_changed`) on the organization's event stream, with the
 * node it happened on: the node's organization is the only one that sees them.
 */
@Injectable()
export class MachineEventsRelay implements OnModuleInit {
  constructor(
    private readonly domainEvents: DomainEventBus,
    private readonly events: EventsService,
  ) {}

  onModuleInit(): void {
    this.domainEvents.on('machine.event', ({ orgId, nodeId, frame }) => {
      void this.events.publish(orgId, frame.type, {
        node_id: nodeId,
        vm_id: frame.vm_id,
        vm_name: frame.vm_name,
        ...(frame.type === 'machine.state_changed' ? { previous: frame.previous, current: frame.current } : {}),
        ...(frame.type === 'machine.added' ? { state: frame.current } : {}),
        at: frame.ts,
      });
    });
  }
}
