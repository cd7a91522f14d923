import { Module } from '@nestjs/common';
import { AgentAuthService } from './agent-auth';
import { NodeStreams } from './relay/node-streams';
import { RelayServer } from './relay/relay-server';
import { TunnelServer } from './tunnel.server';

@Module({ providers: [AgentAuthService, TunnelServer, RelayServer, NodeStreams], exports: [TunnelServer, NodeStreams, RelayServer] })
export class TunnelModule {}
