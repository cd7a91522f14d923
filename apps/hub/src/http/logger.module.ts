import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { HUB_LOGGER } from './logger';

@Global()
@Module({})
export class LoggerModule {
  static forLogger(log: Logger): DynamicModule {
    return { module: LoggerModule, providers: [{ provide: HUB_LOGGER, useValue: log }], exports: [HUB_LOGGER] };
  }
}
