import { inventoryZone } from '@hostplane/protocol';
import { z } from 'zod';

/**
 * A zone configuration as the agent parses `zonecfg export`/`info` or `zadm show`: global
 * properties, and resources by type (`net`, `attr`, `fs`, …) in their order.
 */
export const zoneConfigResponse = z.object({
  properties: z.record(z.string(), z.string()).describe('Global properties (`zonepath`, `brand`, `autoboot`, …)'),
  resources: z
    .record(z.string(), z.array(z.record(z.string(), z.string())))
    .describe('Resources by type, each a map of its properties'),
});

/**
 * A zone in a list: `zoneadm list -c -p`. The inventory adds the cheap parts of its configuration
 * (`ram`, `vcpus`, `autoboot`, `nets`); a live list has only what zoneadm prints.
 */
export const zoneSummaryResponse = inventoryZone.partial({ ram: true, vcpus: true, autoboot: true, nets: true });

/** One zone: from the inventory as in the list; read live, with its whole configuration too. */
export const zoneDetailResponse = zoneSummaryResponse.extend({
  config: zoneConfigResponse.optional().describe('Only on a live read (`?live=true`)'),
});

/** A boot environment: `beadm list -H` (flags N and R as booleans, `created` from epoch seconds). */
export const bootEnvironmentResponse = z.object({
  name: z.string(),
  uuid: z.string().nullable(),
  active_now: z.boolean(),
  active_on_reboot: z.boolean(),
  mountpoint: z.string().nullable(),
  space_bytes: z.number().nullable(),
  policy: z.string().nullable(),
  created: z.string().nullable().describe('ISO 8601'),
});

/** The envelope of every host resource read (HostResourceRead), around the operation's `data`. */
export function hostReadResponse(data: z.ZodType) {
  return z.object({
    node_id: z.uuid(),
    operation: z.string().describe('The host operation that answered (`zones.list`, …)'),
    source: z.enum(['inventory', 'live']),
    as_of: z.string().describe("The inventory's time, or the time of the live read"),
    truncated: z
      .boolean()
      .optional()
      .describe('Only from the inventory: the list was cut at its cap; `?live=true` reads all of it'),
    data,
  });
}
