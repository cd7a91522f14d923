import { AllocationEntity } from '../allocations/allocation.entity';
import { ApiToken } from '../api-tokens/api-token.entity';
import { AuditLog } from '../audit/audit-log.entity';
import { BackupEntity, BackupStorageConfigEntity } from '../backups/backup.entity';
import { MfaRecoveryCode, PasswordResetToken, RefreshToken, Session } from '../auth/session.entity';
import { DeploymentEntity } from '../deployments/deployment.entity';
import {
  MemberPermission,
  Organization,
  OrganizationInvite,
  OrganizationMember,
} from '../organizations/organization.entity';
import { InstanceEntity } from '../instances/instance.entity';
import { FileUploadEntity } from '../files/file-upload.entity';
import { IdempotencyKeyEntity } from '../idempotency/idempotency-key.entity';
import { OperationEntity } from '../jobs/operation.entity';
import { EphemeralMachineEntity } from '../ephemeral-machines/ephemeral-machine.entity';
import { MigrationEntity } from '../instance-migrations/migration.entity';
import { NodeEntity } from '../nodes/node.entity';
import { RegistryCredentialEntity } from '../registries/registry.entity';
import { ReverseProxyHostEntity } from '../reverse-proxy/reverse-proxy-host.entity';
import { RegistrationTokenEntity, RevokedAgentTokenEntity } from '../nodes/registration-token.entity';
import { User } from '../users/user.entity';
import { WorkloadEntity } from '../workloads/workload.entity';

/** Every entity of the hub, listed once so the data source and migrations agree. */
export const ENTITIES: Function[] = [
  User,
  Organization,
  OrganizationMember,
  MemberPermission,
  OrganizationInvite,
  Session,
  RefreshToken,
  PasswordResetToken,
  MfaRecoveryCode,
  ApiToken,
  AuditLog,
  NodeEntity,
  RegistrationTokenEntity,
  RevokedAgentTokenEntity,
  OperationEntity,
  WorkloadEntity,
  InstanceEntity,
  DeploymentEntity,
  MigrationEntity,
  FileUploadEntity,
  BackupStorageConfigEntity,
  BackupEntity,
  IdempotencyKeyEntity,
  AllocationEntity,
  RegistryCredentialEntity,
  EphemeralMachineEntity,
  ReverseProxyHostEntity,
];
