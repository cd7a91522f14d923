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

export interface DerivedStatus {
  status: DeploymentStatus;
  error: { code: string; message: string } | null;
}

const FAILED_OPS = new Set(['failed', 'expired', 'cancelled']);
const RANK: Record<DeploymentStatus, number> = { pending: 0, installing: 1, starting: 2, running: 3, installed: 3, failed: 3 };

/** Statuses only move forward: a late or stale derivation never moves a deployment back. */
export function statusRank(s: DeploymentStatus): number {
  return RANK[s];
}

function failed(code: string, message: string): DerivedStatus {
  return { status: 'failed', error: { code, message } };
}

/**
 * pending (create queued) → installing (create delivered, install running) → starting (start
 * queued or running) → running; `installed` instead when start is false; `failed` with the error of
 * the step that failed. Pure, so any replica derives the same from the same rows.
 */
export function deriveStatus(f: DeploymentFacts): DerivedStatus {
  if (!f.instance) return failed('instance_deleted', 'the instance was deleted before the deployment finished');
  const create = f.createOp;
  if (create && FAILED_OPS.has(create.status)) return failed(create.error?.code ?? create.status, `installing failed: ${create.error?.message ?? create.status}`);
  if (f.instance.state === 'failed') return failed('instance_failed', f.instance.stateReason ?? 'the instance failed');
  const created = create ? create.status === 'succeeded' : !['pending', 'installing'].includes(f.instance.state);
  if (!created) {
    const delivered = create !== null && create.status !== 'queued';
    return { status: delivered || f.instance.state === 'installing' ? 'installing' : 'pending', error: null };
  }
  if (!f.start) return { status: 'installed', error: null };
  const start = f.startOp;
  if (start && FAILED_OPS.has(start.status)) return failed(start.error?.code ?? start.status, `starting failed: ${start.error?.message ?? start.status}`);
  if (start?.status === 'succeeded' || (!start && f.instance.state === 'running')) return { status: 'running', error: null };
  return { status: 'starting', error: null };
}
