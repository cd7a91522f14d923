import { randomUUID } from 'node:crypto';
import type { DrainIssue, DrainState } from './node.entity';

export interface DrainRequest {
  deadlineSeconds?: number;
  force: boolean;
  maxParallel?: number;
  actor: { type: string; id: string } | null;
}

/**
 * The drain state machine, pure: draining → complete (nothing left on the node, the deadline
 * passed, or force) or cancelled. Starting a drain also cordons the node (the caller sets
 * `schedulable = false`); the drain loop in the migrations domain moves the instances off.
 */
export function startDrain(
  current: DrainState | null,
  req: DrainRequest,
  remaining: number,
  now = new Date(),
  id: string = randomUUID(),
): DrainState {
  const iso = now.toISOString();
  const deadline =
    req.deadlineSeconds !== undefined ? new Date(now.getTime() + req.deadlineSeconds * 1000).toISOString() : undefined;
  if (current?.status === 'draining') {
    // Re-posting a drain updates its deadline, parallelism or escalates to force; it never restarts it.
    const d = normalizeDrain(current);
    return {
      ...d,
      force: d.force || req.force,
      deadline_at: deadline ?? d.deadline_at,
      max_parallel: req.maxParallel ?? d.max_parallel,
      updated_at: iso,
      remaining,
    };
  }
  return settle(
    {
      id,
      status: 'draining',
      started_at: iso,
      updated_at: iso,
      deadline_at: deadline ?? null,
      force: req.force,
      max_parallel: req.maxParallel ?? 1,
      actor: req.actor,
      remaining,
      migrated: 0,
      unplaceable: [],
      failed: [],
      stopped: [],
      completed_reason: null,
    },
    now,
  );
}

/** Drains stored before the drain loop existed lack its fields. */
export function normalizeDrain(d: DrainState): DrainState {
  return {
    ...d,
    id: d.id ?? randomUUID(),
    max_parallel: d.max_parallel ?? 1,
    migrated: d.migrated ?? 0,
    unplaceable: d.unplaceable ?? [],
    failed: d.failed ?? [],
    stopped: d.stopped ?? [],
    completed_reason: d.completed_reason ?? null,
  };
}

export interface DrainProgress {
  remaining: number;
  migrated: number;
  unplaceable: { instance_id: string; reason: string }[];
  failed: { instance_id: string; reason: string }[];
}

/** Records what one pass of the drain loop found; a draining node with nothing left is complete. */
export function updateDrain(current: DrainState, progress: DrainProgress | number, now = new Date()): DrainState {
  if (current.status !== 'draining') return current;
  const p = typeof progress === 'number' ? { remaining: progress } : progress;
  const d = normalizeDrain(current);
  const next: DrainState = { ...d, remaining: p.remaining, updated_at: now.toISOString() };
  if (typeof progress !== 'number') {
    next.migrated = progress.migrated;
    next.unplaceable = keepSince(d.unplaceable, progress.unplaceable, now);
    next.failed = keepSince(d.failed, progress.failed, now);
  }
  return settle(next, now);
}

/** The deadline passed or force was asked: what is left was stopped in place, and the drain is over. */
export function finishDrain(
  current: DrainState,
  reason: 'deadline' | 'force',
  remaining: number,
  stopped: readonly string[],
  now = new Date(),
): DrainState {
  const d = normalizeDrain(current);
  return {
    ...d,
    status: 'complete',
    completed_reason: remaining === 0 ? 'empty' : reason,
    remaining,
    stopped: [...new Set([...d.stopped, ...stopped])],
    updated_at: now.toISOString(),
  };
}

export function cancelDrain(current: DrainState | null, now = new Date()): DrainState | null {
  if (!current || current.status !== 'draining') return null;
  return { ...normalizeDrain(current), status: 'cancelled', updated_at: now.toISOString() };
}

export function deadlinePassed(d: DrainState, now = new Date()): boolean {
  return d.status === 'draining' && d.deadline_at !== null && Date.parse(d.deadline_at) <= now.getTime();
}

/** Issues newly reported since this pass (an unchanged issue keeps its `since`), for events. */
export function newIssues(before: readonly DrainIssue[], after: readonly DrainIssue[]): DrainIssue[] {
  const old = new Map(before.map((i) => [i.instance_id, i.reason]));
  return after.filter((i) => old.get(i.instance_id) !== i.reason);
}

function keepSince(
  before: readonly DrainIssue[],
  now: readonly { instance_id: string; reason: string }[],
  at: Date,
): DrainIssue[] {
  const old = new Map(before.map((i) => [i.instance_id, i]));
  return now.map((i) => {
    const prev = old.get(i.instance_id);
    return prev && prev.reason === i.reason
      ? prev
      : { instance_id: i.instance_id, reason: i.reason, since: at.toISOString() };
  });
}

function settle(d: DrainState, now: Date): DrainState {
  return d.remaining === 0 ? { ...d, status: 'complete', completed_reason: 'empty', updated_at: now.toISOString() } : d;
}
