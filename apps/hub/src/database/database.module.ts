import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';
import type { Logger } from 'pino';
import { connectWithRetry } from './connect';
import { createDataSource } from './data-source';
import { migrateWithLock } from './migrate-with-lock';

/**
 * Owns the one DataSource of the process: connects with backoff, applies migrations when
 * configured to, and closes the pool on shutdown. Domain modules use `dataSource.getRepository`.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [HUB_CONFIG, HUB_LOGGER],
      useFactory: async (config: HubConfig, log: Logger) => {
        const ds = await connectWithRetry(
          createDataSource(config.database.url, config.database.poolSize),
          config.database.connectTimeoutSeconds,
          (attempt, delayMs, reason) => log.warn({ attempt, delayMs, reason }, 'database not reachable yet, retrying'),
        );
        if (config.database.autoMigrate) {
          const applied = await migrateWithLock(ds);
          if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
        }
        return ds;
      },
    },
  ],
  exports: [DataSource],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
