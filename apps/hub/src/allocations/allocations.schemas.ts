import { isIP } from 'node:net';
import { z } from 'zod';
import { paginationQuery } from '../http/pagination';
import type { AllocationEntity } from './allocation.entity';

/** The most ports one request may add or remove (a /16 of ports is never one request's job). */
export const MAX_PORTS_PER_REQUEST = 10_000;

export const allocationIp = z
  .string()
  .refine((v) => isIP(v) !== 0, { message: 'ip must be an IPv4 or IPv6 address (0.0.0.0: every address of the node)' });

/** `25565` or `"30000-30099"`: a port or an inclusive range. */
export const portOrRange = z.union([
  z.number().int().min(1).max(65535),
  z
    .string()
    .regex(/^\d{1,5}(-\d{1,5})?$/, { message: 'a port (25565) or a range ("30000-30099")' })
    .refine((v) => portsOf(v).every((p) => p >= 1 && p <= 65535) && portsOf(v).length > 0, {
      message: 'ports are 1-65535 and a range goes up ("30000-30099")',
    }),
]);

export function portsOf(entry: number | string): number[] {
  if (typeof entry === 'number') return [entry];
  const [from, to] = entry.split('-').map(Number) as [number, number | undefined];
  const last = to ?? from;
  if (last < from) return [];
  return Array.from({ length: last - from + 1 }, (_, i) => from + i);
}

const portList = z
  .array(portOrRange)
  .min(1)
  .max(100)
  .refine((l) => l.reduce<number>((n, e) => n + portsOf(e).length, 0) <= MAX_PORTS_PER_REQUEST, {
    message: `at most ${MAX_PORTS_PER_REQUEST} ports per request`,
  });

export const addAllocationsBody = z
  .object({
    ip: allocationIp.describe('Address the ports are published on'),
    ports: portList.describe('Ports and ranges: [25565, "30000-30099"]'),
    alias: z.string().min(1).max(255).optional().describe('A name shown instead of the ip (a hostname)'),
  })
  .strict();

export const removeAllocationsQuery = z
  .object({
    ip: allocationIp,
    ports: z.string().min(1).max(1000).describe('Comma-separated ports and ranges: 25565,30000-30099'),
  })
  .strict();

export const listAllocationsQuery = paginationQuery.extend({
  ip: allocationIp.optional(),
  assigned: z.enum(['true', 'false']).optional().describe('Only held (true) or free (false) allocations'),
});

export const nodeAllocationParams = z.object({
  id: z.uuid({ message: 'node id must be a UUID' }),
  allocationId: z.uuid({ message: 'allocation id must be a UUID' }),
});

export const allocationResponse = z.object({
  id: z.uuid(),
  node_id: z.uuid(),
  ip: z.string(),
  port: z.number().int(),
  alias: z.string().nullable(),
  instance_id: z.uuid().nullable().describe('The instance holding it; null when free'),
  primary: z.boolean().describe("The instance's primary allocation (SERVER_IP/SERVER_PORT)"),
  port_name: z.string().nullable().describe('The instance port it serves'),
  assigned_at: z.string().nullable(),
  created_at: z.string(),
});

export const addAllocationsResponse = z.object({
  created: z.number().int().describe('Allocations added'),
  existing: z.number().int().describe('Already in the pool: left as they were'),
  data: z.array(allocationResponse),
});

export function presentAllocation(a: AllocationEntity): z.infer<typeof allocationResponse> {
  return {
    id: a.id,
    node_id: a.nodeId,
    ip: a.ip,
    port: a.port,
    alias: a.alias,
    instance_id: a.instanceId,
    primary: a.isPrimary,
    port_name: a.portName,
    assigned_at: a.assignedAt?.toISOString() ?? null,
    created_at: a.createdAt.toISOString(),
  };
}
