import type { DeploymentStatus } from './deployment.entity';

/** What the status of a deployment is derived from: its operations and its instance, as they are now. */
export interface DeploymentFacts {
  start: boolean;
  /** Null once pruned (operations have their own retention). */
  createOp: { status: string; error: { code: string; message: string } | null } | null;
  startOp: { status: string; error: { code: string; message: string } | null } | null;
  /** Null when the instance was deleted. */
  instance: { state: string; stateReason: string | null } | null;
}

/** Which step failed: the install (create), the start, or the instance itself (deleted, lost by its node). */
export type FailedStep = 'install' | 'start' | 'instance';
export interface DeploymentError {
  code: string;
  message: string;
  step: FailedStep;
}

export interface DerivedStatus {
  status: DeploymentStatus;
  error: DeploymentError | null;
}

const FAILED_OPS = new Set(['failed', 'expired', 'cancelled']);
const RANK: Record<DeploymentStatus, number> = {
  pending: 0,
  installing: 1,
  starting: 2,
  running: 3,
  installed: 3,
  failed: 3,
};

/** Statuses only move forward: a late or stale derivation never moves a deployment back. */
export function statusRank(s: DeploymentStatus): number {
  return RANK[s];
}

function failed(step: FailedStep, code: string, message: string): DerivedStatus {
  return { status: 'failed', error: { code, message, step } };
}

function failedOp(step: FailedStep, op: NonNullable<DeploymentFacts['createOp']>): DerivedStatus {
  return failed(step, op.error?.code ?? op.status, op.error?.message ?? `the operation ended ${op.status}`);
}

/**
 * pending (create queued) → installing (create delivered, install running) → starting (start
 * queued or running) → running; `installed` instead when start is false; `failed` with the error of
 * the step that failed. Pure, so any replica derives the same from the same rows.
 */
export function deriveStatus(f: DeploymentFacts): DerivedStatus {
  if (!f.instance)
    return failed('instance', 'instance_deleted', 'the instance was deleted before the deployment finished');
  const create = f.createOp;
  if (create && FAILED_OPS.has(create.status)) return failedOp('install', create);
  const created = create ? create.status === 'succeeded' : !['pending', 'installing'].includes(f.instance.state);
  // While the install runs, its operation's error (not the state the host reported first) tells why it failed.
  if (f.instance.state === 'failed' && created)
    return failed('instance', 'instance_failed', f.instance.stateReason ?? 'the instance failed');
  if (!created) {
    const delivered = create !== null && create.status !== 'queued';
    return { status: delivered || f.instance.state === 'installing' ? 'installing' : 'pending', error: null };
  }
  if (!f.start) return { status: 'installed', error: null };
  const start = f.startOp;
  if (start && FAILED_OPS.has(start.status)) return failedOp('start', start);
  if (start?.status === 'succeeded' || (!start && f.instance.state === 'running'))
    return { status: 'running', error: null };
  return { status: 'starting', error: null };
}
