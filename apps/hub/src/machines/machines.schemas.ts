import { z } from 'zod';

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
