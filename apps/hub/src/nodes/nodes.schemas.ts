import { z } from 'zod';
import { driverInfo, INVENTORY_SECTIONS } from '@hostplane/protocol';
import { paginationQuery } from '../http/pagination';
import { normalizeDrain } from './drain';
import type { NodeEntity } from './node.entity';
import { isoDateTime } from '../http/fields';
import { labels } from '../http/label-fields';

export const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
  message: "node names are 1-63 characters: letters, digits, '-', '_', '.', starting with a letter or digit",
});

export const nodeIdParams = z.object({ id: z.uuid({ message: 'node id must be a UUID' }) });

export const createRegistrationTokenBody = z
  .object({
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .optional()
      .describe('Seconds until the token stops working'),
    max_uses: z.number().int().min(1).max(10_000).default(1).describe('How many agents may register with it'),
    labels: labels.default({}).describe('Labels every node registered with this token gets'),
    description: z.string().max(200).optional(),
  })
  .strict();

export const registrationTokenResponse = z.object({
  id: z.uuid(),
  token: z.string().describe('Shown once: give it to `hostplane-agent register --token`'),
  expires_at: z.string(),
  max_uses: z.number(),
  labels: z.record(z.string(), z.string()),
  register_command: z.string(),
});

export const agentRegisterBody = z
  .object({
    token: z.string().min(1).max(200),
    hostname: z.string().min(1).max(255),
    os: z.string().max(64).default('unknown'),
    arch: z.string().max(32).default('unknown'),
    agent_version: z.string().max(64).default('unknown'),
    drivers: z.array(driverInfo).max(10).default([]),
    name: nodeName.optional().describe('Node name; defaults to the hostname'),
  })
  .strict();

export const agentRegisterResponse = z.object({
  node_id: z.uuid(),
  agent_token: z.string().describe('Shown once; the agent stores it 0600'),
  hub_url: z.string(),
});

export const listNodesQuery = paginationQuery.extend({
  status: z.enum(['pending', 'online', 'offline']).optional(),
  label: z
    .string()
    .regex(/^[^=]+=[^=]*$/, { message: 'label filter is key=value' })
    .optional()
    .describe('Only nodes with this label, as key=value'),
});

export const updateNodeBody = z
  .object({
    name: nodeName.optional(),
    labels: labels.optional(),
    capacity: z
      .object({
        cpu_cores: z.number().positive().max(4096).optional(),
        memory_bytes: z.number().int().positive().optional(),
        disk_bytes: z.number().int().positive().optional(),
      })
      .strict()
      .optional()
      .describe('Overrides of what the inventory reports, for scheduling'),
    job_concurrency: z.number().int().min(1).max(256).optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, {
    message: 'nothing to update: give name, labels, capacity or job_concurrency',
  });

export const drainBody = z
  .object({
    deadline_seconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 86_400)
      .optional()
      .describe('After this, instances still on the node are stopped (not deleted)'),
    force: z.boolean().default(false).describe('Stop instances now instead of migrating them'),
    max_parallel: z.number().int().min(1).max(64).optional().describe('Instances migrated at once (default 1)'),
  })
  .strict();

export const cancelDrainQuery = z.object({
  keep_cordoned: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe(
      "Leave the node unschedulable after cancelling (as Nomad's -keep-ineligible); by default it is schedulable again",
    ),
});

const drainIssue = z.object({ instance_id: z.uuid(), reason: z.string(), since: z.string() });

export const drainState = z.object({
  id: z.uuid().describe('The drain_id of its migrations'),
  status: z.enum(['draining', 'complete', 'cancelled']),
  started_at: z.string(),
  updated_at: z.string(),
  deadline_at: z.string().nullable(),
  force: z.boolean(),
  max_parallel: z.number().int(),
  actor: z.object({ type: z.string(), id: z.string() }).nullable(),
  remaining: z.number().int().describe('Instances still on the node'),
  migrated: z.number().int().describe('Instances this drain moved off'),
  unplaceable: z
    .array(drainIssue)
    .describe("Instances no node can take, with the planner's explanation; retried until the deadline"),
  failed: z.array(drainIssue).describe('Instances whose migration failed or was cancelled; stopped at the deadline'),
  stopped: z.array(z.uuid()).describe('Instances stopped in place (force, or at the deadline)'),
  completed_reason: z.enum(['empty', 'deadline', 'force']).nullable(),
});

export const nodeResponse = z.object({
  id: z.uuid(),
  org_id: z.uuid(),
  name: z.string(),
  status: z.enum(['pending', 'online', 'offline']),
  schedulable: z.boolean(),
  drain: drainState.nullable(),
  labels: z.record(z.string(), z.string()),
  capacity: z.object({
    cpu_cores: z.number().optional(),
    memory_bytes: z.number().optional(),
    disk_bytes: z.number().optional(),
  }),
  job_concurrency: z.number().int(),
  hostname: z.string().nullable(),
  os: z.string().nullable(),
  arch: z.string().nullable(),
  agent_version: z.string().nullable(),
  protocol_version: z.number().nullable(),
  drivers: z.array(driverInfo),
  capabilities: z.array(z.string()),
  agent_token_hint: z.string(),
  last_seen_at: z.string().nullable(),
  connected_at: z.string().nullable(),
  inventory_updated_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type NodeResponse = z.infer<typeof nodeResponse>;

export const rotateTokenResponse = z.object({ node_id: z.uuid(), agent_token: z.string().describe('Shown once') });

export const inventorySectionParams = nodeIdParams.extend({ section: z.enum(INVENTORY_SECTIONS) });

export const metricsHistoryQuery = z
  .object({
    from: isoDateTime().optional().describe('Start (ISO 8601); default one hour ago'),
    to: isoDateTime().optional().describe('End (ISO 8601); default now'),
    step: z.coerce
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .describe('Bucket width in seconds; default fits ~300 points'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: 'from must be before to',
    path: ['from'],
  });

export const metricsPoint = z.object({
  ts: z.string(),
  samples: z.number().int(),
  cpu_percent: z.number(),
  cpu_percent_max: z.number(),
  memory_used_bytes: z.number(),
  memory_total_bytes: z.number(),
  disk_used_bytes: z.number(),
  disk_total_bytes: z.number(),
  net_rx_bps: z.number(),
  net_tx_bps: z.number(),
  load1: z.number(),
  load5: z.number(),
  load15: z.number(),
  disk_read_bps: z.number().describe('Bytes per second read from whole disks (0 from agents that do not count them)'),
  disk_write_bps: z.number().describe('Bytes per second written to whole disks'),
});
export const metricsHistoryResponse = z.object({
  node_id: z.uuid(),
  from: z.string(),
  to: z.string(),
  step: z.number().int(),
  source: z.enum(['raw', 'rollup_5m']),
  points: z.array(metricsPoint),
});

export function presentNode(n: NodeEntity): NodeResponse {
  return {
    id: n.id,
    org_id: n.orgId,
    name: n.name,
    status: n.status,
    schedulable: n.schedulable,
    drain: n.drain ? normalizeDrain(n.drain) : null,
    labels: n.labels,
    capacity: n.capacity,
    job_concurrency: n.jobConcurrency,
    hostname: n.hostname,
    os: n.os,
    arch: n.arch,
    agent_version: n.agentVersion,
    protocol_version: n.protocolVersion,
    drivers: n.drivers,
    capabilities: n.capabilities,
    agent_token_hint: n.agentTokenHint,
    last_seen_at: n.lastSeenAt?.toISOString() ?? null,
    connected_at: n.connectedAt?.toISOString() ?? null,
    inventory_updated_at: n.inventoryUpdatedAt?.toISOString() ?? null,
    created_at: n.createdAt.toISOString(),
    updated_at: n.updatedAt.toISOString(),
  };
}
