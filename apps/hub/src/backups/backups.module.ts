import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module';
import { JobsModule } from '../jobs/jobs.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { BackupConfigController } from './backup-config.controller';
import { BackupConfigService } from './backup-config.service';
import { BackupOperations } from './backup-operations';
import { BackupPipeline } from './backup-pipeline';
import { BackupRestorer } from './backup-restore';
import { BackupSweeper } from './backup-sweeper';
import { BackupsController } from './backups.controller';
import { BackupsService } from './backups.service';

@Module({
  imports: [JobsModule, TunnelModule, InstancesModule],
  providers: [BackupConfigService, BackupOperations, BackupPipeline, BackupRestorer, BackupSweeper, BackupsService],
  controllers: [BackupsController, BackupConfigController],
  exports: [BackupsService],
})
export class BackupsModule {}
