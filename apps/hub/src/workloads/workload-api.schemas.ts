import { z } from 'zod';
import { pageOf, paginationQuery } from '../http/pagination';
import { labels } from '../http/label-fields';
import { SIZE_NAMES, TEMPLATE_CATEGORIES, type WorkloadTemplate } from './templates';
import type { WorkloadEntity } from './workload.entity';
import {
  DRIVERS,
  SPEC_API_VERSION,
  SPEC_KIND,
  workloadPort,
  workloadResources,
  workloadSpec,
  type WorkloadSpec,
} from './workload.schemas';
import { displayName } from '../http/fields';

/** HTTP shapes of the workloads and templates routes; the spec itself is in workload.schemas.ts. */

export const workloadIdParams = z.object({ id: z.uuid({ message: 'workload id must be a UUID' }) });
export type WorkloadIdParams = z.infer<typeof workloadIdParams>;

export const listWorkloadsQuery = paginationQuery.extend({
  driver: z.enum(DRIVERS).optional(),
  q: z.string().min(1).max(100).optional().describe('Only workloads whose name contains this (case-insensitive)'),
  label: z
    .string()
    .regex(/^[^=]+=[^=]*$/, { message: 'label filter is key=value' })
    .optional()
    .describe('Only workloads with this label, as key=value'),
});
export type ListWorkloadsQuery = z.infer<typeof listWorkloadsQuery>;

export const workloadResponse = z.object({
  id: z.uuid(),
  org_id: z.uuid(),
  name: z.string(),
  driver: z.enum(DRIVERS),
  revision: z.number().int().describe('Bumped on every update'),
  created_by: z.uuid().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  spec: workloadSpec,
});
export type WorkloadResponse = z.infer<typeof workloadResponse>;

export const workloadSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  driver: z.enum(DRIVERS),
  image: z.string().nullable(),
  resources: workloadResources,
  labels: z.record(z.string(), z.string()),
  template: z.string().nullable().describe('Template it was created from'),
  egg: z.string().nullable().describe('Name of the egg it was imported from'),
  revision: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export const workloadPage = pageOf(workloadSummary);

export const exportedWorkload = workloadSpec.safeExtend({
  api_version: z.literal(SPEC_API_VERSION),
  kind: z.literal(SPEC_KIND),
  exported_at: z.string(),
});

export const fromTemplateBody = z
  .object({
    template: z.string().min(1).max(100).describe('Template id, from GET /v1/templates'),
    size: z.enum(SIZE_NAMES).optional().describe("One of the template's sizes; its default when absent"),
    name: displayName(100).optional(),
    resources: workloadResources.optional().describe('Instead of a size'),
    variables: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('New defaults for the template variables'),
    node_labels: labels.optional().describe('Only place on nodes with these labels'),
  })
  .strict()
  .refine((b) => !(b.size && b.resources), { message: 'give size or resources, not both', path: ['resources'] });
export type FromTemplateBody = z.infer<typeof fromTemplateBody>;

export const importEggBody = z
  .object({
    egg: z.record(z.string(), z.unknown()).optional().describe('The exported egg JSON (PTDL_v1 or PTDL_v2)'),
    name: displayName(100).optional().describe("Workload name; the egg's name when absent"),
    resources: workloadResources.optional(),
    ports: z.array(workloadPort).max(64).optional(),
  })
  .catchall(z.unknown())
  .describe('`{"egg": {…}, "name"?, "resources"?, "ports"?}`, or the exported egg itself as the body');
export type ImportEggBody = z.infer<typeof importEggBody>;

export const importEggResponse = z.object({
  workload: workloadResponse,
  format: z.enum(['PTDL_v1', 'PTDL_v2']),
  warnings: z.array(z.string()).describe('What the egg does not say or we do not carry over'),
});

export const templateSize = z.object({
  name: z.enum(SIZE_NAMES),
  resources: workloadResources,
  variables: z.record(z.string(), z.string()).optional(),
  note: z.string(),
});

export const templateResponse = z.object({
  id: z.string(),
  category: z.enum(TEMPLATE_CATEGORIES),
  name: z.string(),
  description: z.string(),
  default_size: z.enum(SIZE_NAMES),
  sizes: z.array(templateSize),
  spec: workloadSpec,
});
export const templatePage = pageOf(templateResponse);
export const templateCategoryParams = z.object({ category: z.string().min(1).max(100) });

export function presentWorkload(w: WorkloadEntity): WorkloadResponse {
  return {
    id: w.id,
    org_id: w.orgId,
    name: w.name,
    driver: w.driver,
    revision: w.revision,
    created_by: w.createdBy,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
    spec: w.spec,
  };
}

export function presentSummary(w: WorkloadEntity): z.infer<typeof workloadSummary> {
  const s: WorkloadSpec = w.spec;
  return {
    id: w.id,
    name: w.name,
    description: s.description,
    driver: w.driver,
    image: s.image ?? null,
    resources: s.resources,
    labels: s.labels,
    template: s.source?.template ?? null,
    egg: s.source?.egg?.name ?? null,
    revision: w.revision,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}

export function presentTemplate(t: WorkloadTemplate): z.infer<typeof templateResponse> {
  return {
    id: t.id,
    category: t.category,
    name: t.name,
    description: t.description,
    default_size: t.default_size,
    sizes: t.sizes,
    spec: t.spec,
  };
}
