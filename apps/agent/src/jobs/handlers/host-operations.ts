import { CommandError } from '../../exec/run-command';
import type { HostExec } from '../../illumos/host-exec';
import { HOST_OPERATION_SPECS, InvalidHostArgument, isHostOperation } from '@hostplane/protocol';
import { runHostOperation } from '../../illumos/host-operations';
import { JobFailure, type JobHandler } from '../handler-registry';

/**
 * `host.operation`: the agent's table of illumos operations. Without the zone driver's settings
 * (not illumos, `zone.enabled: off`) every operation fails with `driver_unavailable`.
 */
export function createHostOperationHandler(
  exec: HostExec | null,
  onHostChanged: () => void = () => undefined,
): JobHandler<'host.operation'> {
  return async ({ operation, params }) => {
    if (!exec)
      throw new JobFailure(
        'driver_unavailable',
        'this agent runs no illumos host operations (zone.enabled is off or this is not illumos)',
      );
    try {
      const data = await runHostOperation(exec, operation, params);
      if (isHostOperation(operation) && HOST_OPERATION_SPECS[operation].write) onHostChanged();
      return { operation, data };
    } catch (err) {
      if (err instanceof InvalidHostArgument) throw new JobFailure('invalid_argument', err.message);
      if (err instanceof CommandError) throw new JobFailure('host_command_failed', err.message.slice(0, 4000));
      throw err;
    }
  };
}
