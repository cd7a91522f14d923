import { Module } from '@nestjs/common';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { AgentBundleStore, DEFAULT_BUNDLE_DIR } from './agent-bundles';
import { AgentInstallController } from './agent-install.controller';

@Module({
  controllers: [AgentInstallController],
  providers: [
    {
      provide: AgentBundleStore,
      inject: [HUB_CONFIG],
      useFactory: (config: HubConfig) => new AgentBundleStore(config.agents.bundleDir ?? DEFAULT_BUNDLE_DIR),
    },
  ],
})
export class AgentInstallModule {}
