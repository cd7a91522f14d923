import { z } from 'zod';
import { labels } from '../http/label-fields';

/**
 * The request shapes of the machines routes. VM names and ids, new names, snapshot ids and exec
 * arguments are checked by the host-operation parameter kinds (the same checks the agent runs
 * again), so a bad one is a 400 `invalid_argument` naming the field and no job is queued.
 */
export const nodeParams = z.object({ id: z.uuid({ message: 'node id must be a UUID' }) });
export const machineParams = nodeParams.extend({ vm: z.string().min(1).max(200) });
export const snapshotParams = machineParams.extend({ snapshot: z.string().min(1).max(64) });
export const crossHostParams = z.object({ vm: z.string().min(1).max(200) });

export const LIFECYCLE_ACTIONS = ['start', 'suspend', 'resume', 'pause', 'reset', 'restart', 'unregister'] as const;
export const lifecycleParams = machineParams.extend({ action: z.enum(LIFECYCLE_ACTIONS) });

export const stopBody = z
  .object({
    kill: z.boolean().optional().describe('Power off at once (`prlctl stop --kill`) instead of an ACPI shutdown'),
    drop_state: z.boolean().optional().describe('Stop a suspended VM, discarding its saved state (`--drop-state`)'),
  })
  .strict()
  .default({});
export const renameBody = z.object({ name: z.string() }).strict();
export const setBody = z
  .object({
    cpus: z.number().int().optional(),
    memory_mb: z.number().int().optional(),
    description: z.string().optional(),
    boot_order: z.string().optional().describe('Devices in boot order, e.g. "hdd0 cdrom0 net0"'),
  })
  .strict();
export const cloneBody = z
  .object({ name: z.string(), linked: z.boolean().optional().describe('A linked clone (shares the source disk)') })
  .strict();
export const registerBody = z
  .object({
    path: z.string().describe('Absolute path of the .pvm/.macvm bundle on the host'),
    uuid: z.string().optional(),
    regenerate_uuid: z.boolean().optional(),
    force: z.boolean().optional(),
  })
  .strict();
export const execBody = z
  .object({
    argv: z.array(z.string()).describe('The command and its arguments, run in the guest with no shell of ours'),
  })
  .strict();
export const snapshotCreateBody = z.object({ name: z.string(), description: z.string().optional() }).strict();
export const snapshotDeleteQuery = z.object({ children: z.enum(['true', 'false']).optional() });
export const snapshotSwitchBody = z.object({ skip_resume: z.boolean().optional() }).strict().default({});

export const crossHostAction = z.enum([
  'start',
  'stop',
  'suspend',
  'resume',
  'pause',
  'reset',
  'restart',
  'rename',
  'set',
  'clone',
  'unregister',
  'exec',
]);
export const crossHostActionParams = crossHostParams.extend({ action: crossHostAction });

/** A VM created "somewhere" (`POST /v1/machines`): placed on a host, then cloned there. */
export const placedMachineBody = z
  .object({
    name: z.string().describe('The new VM’s name'),
    source: z
      .union([
        z.object({ vm: z.string().describe('A VM or template on the host to clone, by name or UUID') }).strict(),
        z
          .object({ catalog: z.string().describe('A catalog image (not available yet: 400 catalog_unavailable)') })
          .strict(),
      ])
      .describe('Where the VM comes from'),
    linked: z.boolean().default(false).describe('A linked clone of the source'),
    cpus: z.number().int().min(1).max(128),
    memory_mb: z.number().int().min(256).max(1_048_576),
    disk_mb: z.number().int().min(1024).optional().describe('Grow the clone’s disk to this size (else the source’s)'),
    architecture: z
      .enum(['arm64', 'x86_64', 'aarch64', 'amd64'])
      .optional()
      .describe('The host architecture the VM needs (Apple silicon: arm64; Intel: x86_64)'),
    os: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, { message: 'an OS name such as macosx or ubuntu' })
      .optional()
      .describe(
        'The guest OS (prlctl names: macosx, ubuntu, win-11…); else the source VM’s. macOS guests count against each host’s licence limit',
      ),
    tags: labels.default({}).describe('Node labels the host must carry (key: value)'),
  })
  .strict();
export const placementBody = placedMachineBody.omit({ name: true, linked: true });
export const hostLogsQuery = z.object({
  lines: z.coerce.number().int().min(1).max(5000).optional().describe('How many of the last lines (200 by default)'),
});
