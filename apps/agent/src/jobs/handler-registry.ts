import { AgentError } from '../errors/agent-error';
import { JOB_KINDS, JobKind, JobPayload, JobResult } from '@hostplane/protocol';

export interface JobContext {
  jobId: string;
  /** Aborted when the hub cancels the job (for kinds declared cancellable). */
  signal: AbortSignal;
  /**
   * The journal had this job accepted before without an outcome: the agent stopped while it ran, maybe after its
   * effect.
   */
  rerun?: boolean;
  /** Reports progress to the hub; cheap, call it as often as is useful. */
  progress(percent: number, message?: string): void;
}

export type JobHandler<K extends JobKind> = (payload: JobPayload<K>, ctx: JobContext) => Promise<JobResult<K>>;

/** Exactly one handler per job kind; the mapped type makes a missing one a compile error too. */
export type JobHandlerRegistry = { [K in JobKind]: JobHandler<K> };

/** A job that ended in a failure the hub should see as is, with a stable code. */
export class JobFailure extends AgentError {}

/** A handler body, sync or async, as a promise: a synchronous throw becomes its rejection. */
export async function settle<T>(run: () => T | Promise<T>): Promise<T> {
  return run();
}

export class HandlerRegistryError extends Error {}

/**
 * Checked at start: the protocol this agent was built with may declare a kind the agent has no
 * handler for (or the registry may carry one the protocol dropped), and then the agent must not run.
 */
export function assertHandlersMatchJobKinds(
  handlers: Record<string, unknown>,
  kinds: Record<string, unknown> = JOB_KINDS,
): void {
  const missing = Object.keys(kinds).filter((k) => typeof handlers[k] !== 'function');
  const extra = Object.keys(handlers).filter((k) => !Object.prototype.hasOwnProperty.call(kinds, k));
  if (missing.length > 0)
    throw new HandlerRegistryError(`no handler for job kind ${missing.map((k) => `"${k}"`).join(', ')}`);
  if (extra.length > 0)
    throw new HandlerRegistryError(`handler for unknown job kind ${extra.map((k) => `"${k}"`).join(', ')}`);
}
