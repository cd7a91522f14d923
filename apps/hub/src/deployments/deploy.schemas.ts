import { z } from 'zod';
import { paginationQuery } from '../http/pagination';
import { createInstanceBody, instanceName } from '../instances/instances.schemas';
import { SIZE_NAMES } from '../workloads/templates';
import { workloadPort } from '../workloads/workload.schemas';
import { DEPLOYMENT_STATUSES, type DeploymentEntity } from './deployment.entity';
import { displayName } from '../http/fields';

const instanceFields = createInstanceBody.shape;

export const createDeploymentBody = z
  .object({
    name: instanceName.describe('Name of the instance (and of the workload, when the deployment creates one)'),
    template: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe('Template id from GET /v1/templates: a workload is created from it'),
    size: z.enum(SIZE_NAMES).optional().describe('With template: one of its sizes (its default when absent)'),
    workload_id: z.uuid().optional().describe('An existing workload of the organization'),
    egg: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('A Pterodactyl egg (PTDL_v1 or PTDL_v2 JSON): imported as a new workload'),
    ports: z.array(workloadPort).max(64).optional().describe('With egg: the ports of the workload (eggs declare none)'),
    workload_name: displayName(100).optional().describe('Name of the created workload; default `name`'),
    variables: instanceFields.variables.describe("The instance's variable values"),
    node_id: instanceFields.node_id,
    strategy: instanceFields.strategy,
    image: instanceFields.image,
    resources: instanceFields.resources.describe("Overrides of the workload's resources for this instance"),
    allocation_id: instanceFields.allocation_id,
    start: z.boolean().default(true).describe('Start the instance once installed'),
  })
  .strict()
  .refine((b) => [b.template, b.workload_id, b.egg].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of template, workload_id and egg',
    path: ['template'],
  })
  .refine((b) => b.size === undefined || b.template !== undefined, {
    message: 'size applies to a template only',
    path: ['size'],
  })
  .refine((b) => b.ports === undefined || b.egg !== undefined, {
    message: 'ports apply to an egg only (templates and workloads declare theirs)',
    path: ['ports'],
  })
  .refine((b) => b.workload_name === undefined || b.workload_id === undefined, {
    message: 'workload_name applies when the deployment creates the workload',
    path: ['workload_name'],
  });
export type CreateDeploymentBody = z.infer<typeof createDeploymentBody>;

export const deploymentIdParams = z.object({ id: z.uuid({ message: 'deployment id must be a UUID' }) });

export const listDeploymentsQuery = paginationQuery.extend({ status: z.enum(DEPLOYMENT_STATUSES).optional() });

const errorShape = z.object({
  code: z.string(),
  message: z.string(),
  step: z.enum(['install', 'start', 'instance']).describe('The step that failed'),
});

export const deploymentResponse = z.object({
  id: z.uuid(),
  org_id: z.uuid(),
  name: z.string(),
  status: z
    .enum(DEPLOYMENT_STATUSES)
    .describe('pending → installing → starting → running; installed when start is false; failed with error'),
  source: z.object({ type: z.enum(['template', 'workload', 'egg']), template: z.string().nullable() }),
  workload_id: z.uuid().nullable(),
  workload_created: z.boolean(),
  instance_id: z.uuid().nullable(),
  node_id: z.uuid().nullable(),
  start: z.boolean(),
  operations: z.object({ create: z.uuid().nullable(), start: z.uuid().nullable() }),
  error: errorShape.nullable(),
  warnings: z.array(z.string()).describe('What an imported egg did not say'),
  instance: z
    .object({
      id: z.uuid(),
      state: z.string(),
      desired_state: z.string(),
      state_reason: z.string().nullable(),
      exit_code: z.number().int().nullable(),
    })
    .nullable()
    .describe('The instance as it is now (null once deleted)'),
  created_by: z.uuid().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type DeploymentResponse = z.infer<typeof deploymentResponse>;

export interface InstanceView {
  id: string;
  state: string;
  desiredState: string;
  stateReason: string | null;
  exitCode: number | null;
}

export function presentDeployment(d: DeploymentEntity, instance: InstanceView | null): DeploymentResponse {
  return {
    id: d.id,
    org_id: d.orgId,
    name: d.name,
    status: d.status,
    source: { type: d.source, template: d.template },
    workload_id: d.workloadId,
    workload_created: d.workloadCreated,
    instance_id: d.instanceId,
    node_id: d.nodeId,
    start: d.start,
    operations: { create: d.createOperationId, start: d.startOperationId },
    error: d.error,
    warnings: d.warnings,
    instance: instance
      ? {
          id: instance.id,
          state: instance.state,
          desired_state: instance.desiredState,
          state_reason: instance.stateReason,
          exit_code: instance.exitCode,
        }
      : null,
    created_by: d.createdBy,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}
