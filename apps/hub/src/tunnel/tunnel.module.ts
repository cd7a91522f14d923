import { Module } from '@nestjs/common';
import { TunnelServer } from './tunnel.server';

/** The agent tunnel. Needs `NODE_RECORDS` (from the nodes domain) and the domain event bus. */
@Module({ providers: [TunnelServer], exports: [TunnelServer] })
export class TunnelModule {}
