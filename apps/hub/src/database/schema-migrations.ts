import { Identity1764576000000 } from './schema-migrations/1764576000000-identity';
import { NodesAndOperations1796200000000 } from './schema-migrations/1796200000000-nodes-and-operations';
import { Workloads1796210000000 } from './schema-migrations/1796210000000-workloads';
import { Instances1796220000000 } from './schema-migrations/1796220000000-instances';
import { FileUploads1796230000000 } from './schema-migrations/1796230000000-file-uploads';
import { Backups1796240000000 } from './schema-migrations/1796240000000-backups';
import { MigrationsAndDrain1796250000000 } from './schema-migrations/1796250000000-migrations-and-drain';
import { DeploymentsAndInstanceMetrics1796260000000 } from './schema-migrations/1796260000000-deployments-and-instance-metrics';
import { ResourceOrderAndEventOutbox1796270000000 } from './schema-migrations/1796270000000-resource-order-and-event-outbox';
import { IdempotencyKeys1796280000000 } from './schema-migrations/1796280000000-idempotency-keys';
import { DataPermissions1796310000000 } from './schema-migrations/1796310000000-data-permissions';
import { Allocations1796330000000 } from './schema-migrations/1796330000000-allocations';
import { RegistryCredentials1796360000000 } from './schema-migrations/1796360000000-registry-credentials';
import { ZoneDriver1796370000000 } from './schema-migrations/1796370000000-zone-driver';
import { ParallelsDriver1796410000000 } from './schema-migrations/1796410000000-parallels-driver';
import { NodeDiskIo1796440000000 } from './schema-migrations/1796440000000-node-disk-io';
import { EphemeralMachines1796460000000 } from './schema-migrations/1796460000000-ephemeral-machines';
import { ReverseProxy1796450000000 } from './schema-migrations/1796450000000-reverse-proxy';

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const MIGRATIONS: Function[] = [
  Identity1764576000000,
  NodesAndOperations1796200000000,
  Workloads1796210000000,
  Instances1796220000000,
  FileUploads1796230000000,
  Backups1796240000000,
  MigrationsAndDrain1796250000000,
  DeploymentsAndInstanceMetrics1796260000000,
  ResourceOrderAndEventOutbox1796270000000,
  IdempotencyKeys1796280000000,
  DataPermissions1796310000000,
  Allocations1796330000000,
  RegistryCredentials1796360000000,
  ZoneDriver1796370000000,
  ParallelsDriver1796410000000,
  NodeDiskIo1796440000000,
  ReverseProxy1796450000000,
  EphemeralMachines1796460000000,
];
