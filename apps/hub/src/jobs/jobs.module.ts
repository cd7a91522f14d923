import { Module } from '@nestjs/common';
import { RegistriesModule } from '../registries/registries.module';
import { TunnelModule } from '../tunnel/tunnel.module';
import { JobRegistryCredentials } from './job-registry-credentials';
import { JobPayloadFillers } from './job-payload-fillers';
import { JobDelivery } from './job-delivery';
import { JobDispatcher } from './job-dispatcher';
import { JobQueues } from './job-queues';
import { JobSweepers } from './job-sweepers';
import { NodeWorkers } from './node-workers';
import { OperationWaiter } from './operation-waiter';
import { OperationsController } from './operations.controller';
import { OperationsService } from './operations.service';

@Module({
  imports: [TunnelModule, RegistriesModule],
  providers: [
    JobRegistryCredentials,
    JobPayloadFillers,
    OperationsService,
    JobQueues,
    JobDelivery,
    NodeWorkers,
    JobDispatcher,
    JobSweepers,
    OperationWaiter,
  ],
  controllers: [OperationsController],
  exports: [
    JobPayloadFillers,
    OperationsService,
    JobDispatcher,
    JobQueues,
    NodeWorkers,
    JobDelivery,
    JobSweepers,
    OperationWaiter,
  ],
})
export class JobsModule {}
