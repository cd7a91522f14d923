import type { InstanceSpec } from '@hostplane/protocol';

/** What becomes of an instance whose workload ended without being asked to. */
export interface ExitDecision {
  state: 'crashed' | 'stopped';
  desired: 'running' | 'stopped';
  reason: string;
  /** When to start it again (the policy's backoff), or null when it stays down. */
  restartAfterMs: number | null;
}

/**
 * The restart policy, the same for every driver (as Nomad keeps it out of its drivers): `always`
 * restarts any exit, `on-failure` a non-zero one, up to `max_retries` restarts since the last
 * start the hub asked for, each after `backoff_seconds`.
 */
export function decideAfterExit(
  restart: InstanceSpec['restart'],
  restartsSoFar: number,
  exitCode: number | null,
  reason: string,
): ExitDecision {
  const failed = exitCode !== 0;
  const { policy, max_retries: maxRetries, backoff_seconds: backoff } = restart;
  const wants = policy === 'always' || (policy === 'on-failure' && failed);
  const can = wants && restartsSoFar < maxRetries;
  return {
    state: failed ? 'crashed' : 'stopped',
    desired: can ? 'running' : 'stopped',
    reason: `${reason}${wants && !can ? `; restart limit of ${maxRetries} reached` : ''}`,
    restartAfterMs: can ? backoff * 1000 : null,
  };
}

/** How an exit reads: by signal, by code, or unknown (a workload adopted after an agent restart). */
export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  if (code === null) return 'exited while adopted after an agent restart (exit status unknown)';
  return `exited with code ${code}`;
}
