import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { TunnelStatsService } from './tunnel-stats.service';
import { TunnelController } from './tunnel.controller';
import { TunnelModule } from '../tunnel/tunnel.module';

@Module({ imports: [TunnelModule, JobsModule], providers: [TunnelStatsService], controllers: [TunnelController] })
export class TunnelAdminModule {}
