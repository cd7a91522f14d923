import { Global, Module } from '@nestjs/common';
import { NODE_OCCUPANCY } from '../nodes/node-capabilities';
import { NODE_ALLOCATIONS } from '../scheduler/node-capacity';
import { WORKLOAD_USAGE } from '../workloads/workloads.service';
import { InstanceCounts } from './instance-counts';

/**
 * The instances domain's answers to the domains below it (nodes, scheduler, workloads), under
 * their tokens. Global because those domains cannot import the instances module.
 */
@Global()
@Module({
  providers: [
    InstanceCounts,
    { provide: NODE_OCCUPANCY, useExisting: InstanceCounts },
    { provide: NODE_ALLOCATIONS, useExisting: InstanceCounts },
    { provide: WORKLOAD_USAGE, useExisting: InstanceCounts },
  ],
  exports: [NODE_OCCUPANCY, NODE_ALLOCATIONS, WORKLOAD_USAGE],
})
export class InstanceCapabilitiesModule {}
