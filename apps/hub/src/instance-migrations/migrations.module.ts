import { Global, Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { AllocationsModule } from '../allocations/allocations.module';
import { DRAIN_DRIVER } from '../nodes/node-capabilities';
import { DrainEviction, drainDriverOf } from './drain-eviction';
import { MigrationBackups } from './migration-backups';
import { MigrationPorts } from './migration-ports';
import { MigrationQueue } from './migration-queue';
import { MigrationRunner } from './migration-runner';
import { MigrationsController } from './migrations.controller';
import { MigrationsService } from './migrations.service';

/**
 * Moving instances between nodes (data included), and draining nodes with it. Global because it
 * provides the nodes domain's `DRAIN_DRIVER`, and nodes sit below migrations.
 */
@Global()
@Module({
  imports: [AllocationsModule, JobsModule, NodesModule, SchedulerModule, TunnelModule, InstancesModule],
  providers: [
    MigrationBackups,
    MigrationPorts,
    MigrationQueue,
    MigrationRunner,
    MigrationsService,
    DrainEviction,
    { provide: DRAIN_DRIVER, useFactory: drainDriverOf, inject: [DrainEviction] },
  ],
  controllers: [MigrationsController],
  exports: [MigrationsService, DRAIN_DRIVER],
})
export class MigrationsModule {}
