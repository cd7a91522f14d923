import { DynamicModule, Module, Type } from '@nestjs/common';
import { ConfigModule } from './config/config.module';
import type { HubConfig } from './config/load-config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { LoggerModule } from './http/logger.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiModule } from './openapi/openapi.module';
import { RedisModule } from './redis/redis.module';
import type { Logger } from 'pino';

/** Domain modules of the hub, in one list. */
const DOMAIN_MODULES: Type[] = [HealthModule];

@Module({})
export class AppModule {
  static forRoot(config: HubConfig, log: Logger, extra: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forConfig(config),
        LoggerModule.forLogger(log),
        DatabaseModule,
        RedisModule,
        MetricsModule,
        OpenApiModule,
        ...DOMAIN_MODULES,
        ...extra,
      ],
    };
  }
}
