import { CommandError } from '../../exec/run-command';
import type { HostExec } from '../../illumos/host-exec';
import { HOST_OPERATION_SPECS, hostOperationFamily, InvalidHostArgument, isHostOperation } from '@hostplane/protocol';
import { runHostOperation, UnknownHostOperation } from '../../illumos/host-operations';
import { isMachineOperation, runMachineOperation } from '../../parallels/machine-operations';
import type { PrlHost } from '../../parallels/prl-host';
import { JobFailure, type JobHandler } from '../handler-registry';

/**
 * `host.operation`: the agent's tables of host operations, by family: the illumos resources
 * (with the zone driver's settings) and the Parallels VMs (`machines.*`, with the parallels
 * driver's). A family this agent does not run fails with `driver_unavailable`.
 */
export function createHostOperationHandler(
  exec: HostExec | null,
  parallels: PrlHost | null = null,
  onHostChanged: () => void = () => undefined,
): JobHandler<'host.operation'> {
  return async ({ operation, params }, ctx) => {
    const family = hostOperationFamily(operation);
    if (family === 'machines' && !parallels)
      throw new JobFailure(
        'driver_unavailable',
        'this agent runs no Parallels machines (parallels.enabled is off, or this is not macOS with prlctl)',
      );
    if (family === 'illumos' && !exec)
      throw new JobFailure(
        'driver_unavailable',
        'this agent runs no illumos host operations (zone.enabled is off or this is not illumos)',
      );
    try {
      if (family === 'machines') {
        if (!isMachineOperation(operation)) throw new UnknownHostOperation(operation);
        const data = await runMachineOperation(parallels!, operation, params, ctx.progress);
        // The inventory's VM list (resources, placement) is stale after a write.
        if (isHostOperation(operation) && HOST_OPERATION_SPECS[operation].write) onHostChanged();
        return { operation, data };
      }
      const data = await runHostOperation(exec!, operation, params);
      // The inventory's illumos lists are stale after a write.
      if (isHostOperation(operation) && HOST_OPERATION_SPECS[operation].write) onHostChanged();
      return { operation, data };
    } catch (err) {
      if (err instanceof InvalidHostArgument) throw new JobFailure('invalid_argument', err.message);
      if (err instanceof CommandError) throw new JobFailure('host_command_failed', err.message.slice(0, 4000));
      throw err;
    }
  };
}
