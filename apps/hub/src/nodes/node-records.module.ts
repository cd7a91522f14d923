import { Global, Module } from '@nestjs/common';
import { NODE_RECORDS } from '../tunnel/node-records.port';
import { AgentAuthService } from './agent-auth';
import { NodeConnectionRecords } from './node-connection-records';

/**
 * Provides the tunnel's `NODE_RECORDS` capability. Global because the tunnel sits below the
 * nodes domain (nodes use the tunnel to reach agents) and so cannot import a nodes module.
 */
@Global()
@Module({
  providers: [AgentAuthService, NodeConnectionRecords, { provide: NODE_RECORDS, useExisting: NodeConnectionRecords }],
  exports: [NODE_RECORDS],
})
export class NodeRecordsModule {}
