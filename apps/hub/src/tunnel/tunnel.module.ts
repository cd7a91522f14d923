import { Module } from '@nestjs/common';
import { NodeStreams } from './relay/node-streams';
import { RelayServer } from './relay/relay-server';
import { TunnelServer } from './tunnel.server';

/**
 * The agent tunnel and the hub-to-hub stream relay. Needs `NODE_RECORDS` (from the nodes domain) and the domain event
 * bus.
 */
@Module({ providers: [TunnelServer, RelayServer, NodeStreams], exports: [TunnelServer, NodeStreams, RelayServer] })
export class TunnelModule {}
