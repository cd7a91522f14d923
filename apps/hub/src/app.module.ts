import { DynamicModule, Module, Type } from '@nestjs/common';
import { AccessModule } from './access/access.module';
import { AgentInstallModule } from './agent-install/agent-install.module';
import { AllocationsModule } from './allocations/allocations.module';
import { ApiTokensModule } from './api-tokens/api-tokens.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { UserSessionsModule } from './auth/user-sessions.module';
import { BackupsModule } from './backups/backups.module';
import { RegistriesModule } from './registries/registries.module';
import { ConfigModule } from './config/config.module';
import type { HubConfig } from './config/load-config';
import { DatabaseModule } from './database/database.module';
import { DeployModule } from './deployments/deploy.module';
import { DomainEventsModule } from './domain-events/domain-events.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { InstanceCapabilitiesModule } from './instances/instance-capabilities.module';
import { InstancesModule } from './instances/instances.module';
import { FilesModule } from './files/files.module';
import { JobsModule } from './jobs/jobs.module';
import { MigrationsModule } from './instance-migrations/migrations.module';
import { NodeRecordsModule } from './nodes/node-records.module';
import { NodesModule } from './nodes/nodes.module';
import { TunnelAdminModule } from './tunnel-admin/tunnel-admin.module';
import { TunnelModule } from './tunnel/tunnel.module';
import { WsModule } from './ws/ws.module';
import { LoggerModule } from './http/logger.module';
import { MailModule } from './mail/mail.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiModule } from './openapi/openapi.module';
import { OutboundModule } from './outbound/outbound.module';
import { OrganizationsModule } from './organizations/organizations.module';
import { PeriodicModule } from './periodic/periodic.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { UsersModule } from './users/users.module';
import { SchedulerModule } from './scheduler/scheduler.module';
import { WorkloadsModule } from './workloads/workloads.module';
import { EphemeralMachinesModule } from './ephemeral-machines/ephemeral-machines.module';
import { MachinesModule } from './machines/machines.module';
import { ReverseProxyModule } from './reverse-proxy/reverse-proxy.module';
import { ZonesModule } from './zones/zones.module';
import type { Logger } from 'pino';

/** Domain modules of the hub, in one list. */
const DOMAIN_MODULES: Type[] = [
  AccessModule,
  AuditModule,
  IdempotencyModule,
  MailModule,
  UserSessionsModule,
  UsersModule,
  OrganizationsModule,
  ApiTokensModule,
  AuthModule,
  WsModule,
  EventsModule,
  NodeRecordsModule,
  TunnelModule,
  JobsModule,
  NodesModule,
  AllocationsModule,
  TunnelAdminModule,
  HealthModule,
  WorkloadsModule,
  SchedulerModule,
  InstanceCapabilitiesModule,
  InstancesModule,
  MigrationsModule,
  FilesModule,
  DeployModule,
  BackupsModule,
  RegistriesModule,
  ZonesModule,
  AgentInstallModule,
  MachinesModule,
  EphemeralMachinesModule,
  ReverseProxyModule,
];

/** Every module of the hub apart from its configuration and logger: the routes they declare are the API. */
export const HUB_MODULES: Type[] = [
  DatabaseModule,
  RedisModule,
  RateLimitModule,
  OutboundModule,
  MetricsModule,
  PeriodicModule,
  DomainEventsModule,
  OpenApiModule,
  ...DOMAIN_MODULES,
];

@Module({})
export class AppModule {
  static forRoot(config: HubConfig, log: Logger, extra: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forConfig(config), LoggerModule.forLogger(log), ...HUB_MODULES, ...extra],
    };
  }
}
