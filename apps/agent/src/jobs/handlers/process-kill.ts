import { JobFailure, JobHandler } from '../handler-registry';

/** Signals a host process; never the agent itself or init, whose loss would take the node down. */
export function createProcessKillHandler(): JobHandler<'node.process.kill'> {
  return async ({ pid, signal }) => {
    if (pid === process.pid)
      throw new JobFailure(
        'refused',
        `pid ${pid} is the agent itself; stop the agent through its service manager instead`,
      );
    if (pid <= 1) throw new JobFailure('refused', `pid ${pid} is init and is never signalled`);
    try {
      process.kill(pid, 0);
    } catch (err) {
      throw signalFailure(pid, err);
    }
    try {
      process.kill(pid, signal);
    } catch (err) {
      // The process exited between the check and the signal: nothing left to deliver to.
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return { pid, signal, delivered: false };
      throw signalFailure(pid, err);
    }
    return { pid, signal, delivered: true };
  };
}

function signalFailure(pid: number, err: unknown): JobFailure {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ESRCH') return new JobFailure('no_such_process', `no process with pid ${pid}`);
  if (code === 'EPERM') return new JobFailure('permission_denied', `the agent may not signal pid ${pid}`);
  return new JobFailure('signal_failed', `signalling pid ${pid} failed: ${code ?? String(err)}`);
}
