import { z } from 'zod';
import { pageOf } from '../http/pagination';
import { labels } from '../http/label-fields';
import { SIZE_NAMES, TEMPLATE_CATEGORIES } from '../workloads/templates';
import { DRIVERS, workloadResources } from '../workloads/workload.schemas';
import { REJECT_REASONS } from './placement';

const strategy = z
  .enum(['binpack', 'spread'])
  .default('binpack')
  .describe('binpack: the fullest node that fits; spread: the emptiest');
const rankLimit = z.number().int().min(1).max(100).default(10).describe('How many fitting nodes to list, best first');
const explainLimit = z
  .number()
  .int()
  .min(0)
  .max(500)
  .default(50)
  .describe('How many rejected nodes to explain; the rest are counted by reason');

const requestedResources = z
  .object({
    cpu_cores: z.number().min(0).max(1024).default(0),
    memory_bytes: z
      .number()
      .int()
      .min(0)
      .max(2 ** 50)
      .default(0),
    disk_bytes: z
      .number()
      .int()
      .min(0)
      .max(2 ** 53 - 1)
      .default(0),
  })
  .strict();

export const suggestFitBody = z
  .object({
    workload_id: z.uuid().optional().describe('Place this workload (its driver, resources and node label constraints)'),
    driver: z.enum(DRIVERS).optional().describe('Without workload_id: the driver needed'),
    resources: requestedResources
      .optional()
      .describe("Without workload_id: what it needs; with it: replaces the workload's"),
    node_labels: labels.optional().describe("Labels the node must have; with workload_id: replaces the workload's"),
    ports: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .optional()
      .describe("Without workload_id: free ports needed from the node's allocation pool (default 0)"),
    strategy,
    limit: rankLimit,
    explain: explainLimit,
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.workload_id && b.driver)
      ctx.addIssue({
        code: 'custom',
        path: ['driver'],
        message: 'the driver comes from the workload: give workload_id or driver, not both',
      });
    if (!b.workload_id && !b.driver)
      ctx.addIssue({ code: 'custom', path: ['workload_id'], message: 'give workload_id, or driver and resources' });
    if (!b.workload_id && b.driver && !b.resources)
      ctx.addIssue({ code: 'custom', path: ['resources'], message: 'give the resources to place' });
  });
export type SuggestFitBody = z.infer<typeof suggestFitBody>;

export const recommendBody = z
  .object({
    workload_id: z.uuid().optional(),
    template: z.string().min(1).max(100).optional().describe('Template id, from GET /v1/planner/templates'),
    size: z
      .enum([...SIZE_NAMES, 'declared'])
      .optional()
      .describe(
        "Insist on a size; otherwise the default (a workload's declared resources, or the template's default), smaller when nothing fits",
      ),
    strategy,
    limit: rankLimit,
    explain: explainLimit,
  })
  .strict()
  .refine((b) => Boolean(b.workload_id) !== Boolean(b.template), {
    message: 'give workload_id or template (exactly one)',
    path: ['workload_id'],
  });
export type RecommendBody = z.infer<typeof recommendBody>;

const placedNode = z.object({
  node_id: z.uuid(),
  name: z.string(),
  score: z.number().describe('0-1, higher is better for the strategy'),
  free: requestedResources.describe('Free after placement'),
});

export const placementResponse = z.object({
  strategy: z.enum(['binpack', 'spread']),
  request: z.object({
    driver: z.enum(DRIVERS),
    resources: requestedResources,
    node_labels: z.record(z.string(), z.string()),
    ports: z.number().int().describe("Host ports taken from the node's allocation pool"),
  }),
  summary: z.string(),
  chosen: placedNode.nullable(),
  ranked: z.array(placedNode),
  rejected: z.array(z.object({ node_id: z.uuid(), name: z.string(), reasons: z.array(z.string()) })),
  rejected_counts: z
    .record(z.enum(REJECT_REASONS), z.number().int())
    .describe('Every rejected node under each filter it failed'),
  evaluated: z.number().int(),
  fitting: z.number().int(),
  rejected_total: z.number().int(),
});
export type PlacementResponse = z.infer<typeof placementResponse>;

export const recommendResponse = z.object({
  subject: z.object({ kind: z.enum(['workload', 'template']), id: z.string(), name: z.string() }),
  size: z.string(),
  resources: workloadResources,
  variables: z.record(z.string(), z.string()).describe('Variable defaults that go with the size'),
  reasons: z.array(z.string()),
  sizes: z.array(
    z.object({ name: z.string(), resources: workloadResources, note: z.string(), fitting: z.number().int() }),
  ),
  placement: placementResponse,
});
export type RecommendResponse = z.infer<typeof recommendResponse>;

export const plannerTemplate = z.object({
  id: z.string(),
  name: z.string(),
  category: z.enum(TEMPLATE_CATEGORIES),
  driver: z.enum(DRIVERS),
  default_size: z.enum(SIZE_NAMES),
  sizes: z.array(z.object({ name: z.enum(SIZE_NAMES), resources: workloadResources, note: z.string() })),
});
export const plannerTemplatePage = pageOf(plannerTemplate);
