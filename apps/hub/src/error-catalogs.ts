import { ACCESS_ERRORS } from './access/access.errors';
import { AGENT_INSTALL_ERRORS } from './agent-install/agent-install.errors';
import { ALLOCATION_ERRORS } from './allocations/allocations.errors';
import { API_TOKEN_ERRORS } from './api-tokens/api-tokens.errors';
import { AUTH_ERRORS } from './auth/auth.errors';
import { BACKUP_ERRORS } from './backups/backups.errors';
import { EPHEMERAL_MACHINE_ERRORS } from './ephemeral-machines/ephemeral-machines.errors';
import { EVENT_ERRORS } from './events/events.errors';
import { FILE_ERRORS } from './files/files.errors';
import { HEALTH_ERRORS } from './health/health.errors';
import { HOST_OPERATION_ERRORS } from './host-operations/host-operations.errors';
import { HTTP_ERRORS } from './http/http.errors';
import { IDEMPOTENCY_ERRORS } from './idempotency/idempotency.errors';
import { INSTANCE_ERRORS } from './instances/instances.errors';
import { JOB_ERRORS } from './jobs/jobs.errors';
import { MACHINE_GUEST_ERRORS } from './machines/machine-guest.errors';
import { MIGRATION_ERRORS } from './instance-migrations/migrations.errors';
import { NODE_ERRORS } from './nodes/nodes.errors';
import { ORGANIZATION_ERRORS } from './organizations/organizations.errors';
import { OUTBOUND_ERRORS } from './outbound/outbound.errors';
import { REGISTRY_ERRORS } from './registries/registries.errors';
import { REVERSE_PROXY_ERRORS } from './reverse-proxy/reverse-proxy.errors';
import { SCHEDULER_ERRORS } from './scheduler/scheduler.errors';
import { USER_ERRORS } from './users/users.errors';
import { WORKLOAD_ERRORS } from './workloads/workloads.errors';
import { ZONE_ERRORS } from './zones/zones.errors';

/**
 * Every domain's error catalog. Importing this registers them all, so the exception filter knows
 * every code before the first request; a new domain adds its `<domain>.errors.ts` here.
 */
export const ERROR_CATALOGS = {
  access: ACCESS_ERRORS,
  agentInstall: AGENT_INSTALL_ERRORS,
  allocations: ALLOCATION_ERRORS,
  apiTokens: API_TOKEN_ERRORS,
  auth: AUTH_ERRORS,
  backups: BACKUP_ERRORS,
  ephemeralMachines: EPHEMERAL_MACHINE_ERRORS,
  events: EVENT_ERRORS,
  files: FILE_ERRORS,
  health: HEALTH_ERRORS,
  hostOperations: HOST_OPERATION_ERRORS,
  http: HTTP_ERRORS,
  idempotency: IDEMPOTENCY_ERRORS,
  instances: INSTANCE_ERRORS,
  jobs: JOB_ERRORS,
  machineGuest: MACHINE_GUEST_ERRORS,
  migrations: MIGRATION_ERRORS,
  nodes: NODE_ERRORS,
  organizations: ORGANIZATION_ERRORS,
  outbound: OUTBOUND_ERRORS,
  registries: REGISTRY_ERRORS,
  reverseProxy: REVERSE_PROXY_ERRORS,
  scheduler: SCHEDULER_ERRORS,
  users: USER_ERRORS,
  workloads: WORKLOAD_ERRORS,
  zones: ZONE_ERRORS,
};
