import { defineErrors } from '../http/error-catalog';

/** Host operations of nodes: illumos resources (zones, network, storage, system) and Parallels machines. */
export const HOST_OPERATION_ERRORS = defineErrors('host-operations', {
  unknown_operation: {
    status: 404,
    message: 'not a host operation (docs/api/zones.md and docs/api/machines.md list them)',
  },
  host_command_failed: { status: 502, message: 'a host command failed on the node (its output is in the message)' },
  machine_not_found: { status: 404, message: 'the node has no VM by that UUID or name' },
  invalid_argument: { status: 400, message: 'a parameter failed its pattern (details.field names it); nothing ran' },
});
