import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module';
import { JobsModule } from '../jobs/jobs.module';
import { NodesModule } from '../nodes/nodes.module';
import { SchedulerModule } from '../scheduler/scheduler.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { AllocationsModule } from '../allocations/allocations.module';
import { DrainEviction } from './drain-eviction';
import { MigrationBackups } from './migration-backups';
import { MigrationPorts } from './migration-ports';
import { MigrationQueue } from './migration-queue';
import { MigrationRunner } from './migration-runner';
import { MigrationsController } from './migrations.controller';
import { MigrationsService } from './migrations.service';

/** Moving instances between nodes (data included), and draining nodes with it. */
@Module({
  imports: [AllocationsModule, JobsModule, NodesModule, SchedulerModule, TunnelModule, InstancesModule],
  providers: [MigrationBackups, MigrationPorts, MigrationQueue, MigrationRunner, MigrationsService, DrainEviction],
  controllers: [MigrationsController],
  exports: [MigrationsService],
})
export class MigrationsModule {}
