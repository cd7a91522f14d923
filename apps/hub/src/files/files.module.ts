import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { InstancesModule } from '../instances/instances.module';
import { JobsModule } from '../jobs/jobs.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { registerFilesHttp } from './files-http';
import { FilesController } from './files.controller';
import { FilesService } from './files.service';
import { TusController } from './tus.controller';
import { TusUploadsService } from './tus-uploads.service';

@Module({
  imports: [InstancesModule, JobsModule, TunnelModule],
  providers: [FilesService, TusUploadsService],
  controllers: [FilesController, TusController],
})
export class FilesModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    registerFilesHttp(this.adapterHost.httpAdapter.getInstance<FastifyInstance>());
  }
}
