import { defineErrors } from '../http/error-catalog';

/** Instances: their lifecycle, ports and the agent's answers about them. */
export const INSTANCE_ERRORS = defineErrors('instances', {
  instance_not_found: { status: 404, message: 'the node has no such instance' },
  instance_busy: { status: 409, message: 'the instance is pending or deleting, or another operation holds it' },
  instance_migrating: { status: 409, message: 'the instance is being moved to another node' },
  workload_gone: { status: 409, message: 'the workload of this instance was deleted: its spec can no longer change' },
  allocation_primary: { status: 409, message: 'the primary allocation (SERVER_PORT) stays while the instance exists' },
  allocation_required: { status: 409, message: "the allocation serves one of the workload's ports" },
  start_failed: { status: 409, message: 'the instance could not be started' },
});
