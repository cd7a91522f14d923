import { Module } from '@nestjs/common';
import { AgentAuthService } from './agent-auth';
import { TunnelServer } from './tunnel.server';

@Module({ providers: [AgentAuthService, TunnelServer], exports: [TunnelServer] })
export class TunnelModule {}
