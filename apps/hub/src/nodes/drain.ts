import type { DrainState } from './node.entity';

export interface DrainRequest {
  deadlineSeconds?: number;
  force: boolean;
  actor: { type: string; id: string } | null;
}

/**
 * The drain state machine, pure: draining → complete (nothing left on the node) or cancelled.
 * Starting a drain also cordons the node (the caller sets `schedulable = false`).
 */
export function startDrain(current: DrainState | null, req: DrainRequest, remaining: number, now = new Date()): DrainState {
  const iso = now.toISOString();
  if (current?.status === 'draining') {
    // Re-posting a drain updates its deadline or escalates to force; it never restarts it.
    return {
      ...current,
      force: current.force || req.force,
      deadline_at: req.deadlineSeconds !== undefined ? new Date(now.getTime() + req.deadlineSeconds * 1000).toISOString() : current.deadline_at,
      updated_at: iso,
      remaining,
    };
  }
  return settle(
    {
      status: 'draining',
      started_at: iso,
      updated_at: iso,
      deadline_at: req.deadlineSeconds !== undefined ? new Date(now.getTime() + req.deadlineSeconds * 1000).toISOString() : null,
      force: req.force,
      actor: req.actor,
      remaining,
    },
    now,
  );
}

/** Records how many instances are left; a draining node with none left is complete. */
export function updateDrain(current: DrainState, remaining: number, now = new Date()): DrainState {
  if (current.status !== 'draining') return current;
  return settle({ ...current, remaining, updated_at: now.toISOString() }, now);
}

export function cancelDrain(current: DrainState | null, now = new Date()): DrainState | null {
  if (!current || current.status !== 'draining') return null;
  return { ...current, status: 'cancelled', updated_at: now.toISOString() };
}

export function deadlinePassed(d: DrainState, now = new Date()): boolean {
  return d.status === 'draining' && d.deadline_at !== null && Date.parse(d.deadline_at) <= now.getTime();
}

function settle(d: DrainState, now: Date): DrainState {
  return d.remaining === 0 ? { ...d, status: 'complete', updated_at: now.toISOString() } : d;
}
