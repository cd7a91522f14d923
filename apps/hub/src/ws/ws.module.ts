import { Global, Module } from '@nestjs/common';
import { WsAccess } from './ws-access';
import { WsRouter } from './ws-router';

@Global()
@Module({ providers: [WsRouter, WsAccess], exports: [WsRouter, WsAccess] })
export class WsModule {}
