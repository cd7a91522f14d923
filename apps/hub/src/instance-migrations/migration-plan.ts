import { createHash } from 'node:crypto';
import type { AnyJob, InstanceSpec } from '@hostplane/protocol';
import {
  describePlacement,
  place,
  type PlacementNode,
  type PlacementRequest,
  type PlacementResources,
} from '../scheduler/placement';

/**
 * The steps of a migration, in order, pure (no Nest, no I/O). Before `switch` the instance
 * belongs to the source and a failure or cancel rolls back; from `switch` on it belongs to the
 * target and the migration only moves forward.
 */
export const FORWARD_STEPS = ['stop', 'backup', 'transfer', 'create', 'restore', 'switch', 'start', 'cleanup'] as const;
export const MIGRATION_STEPS = [...FORWARD_STEPS, 'rollback', 'done'] as const;
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

const SWITCH_INDEX = FORWARD_STEPS.indexOf('switch');

/** Whether the instance still belongs to the source at this step (so cancel and rollback apply). */
export function beforeSwitch(step: MigrationStep): boolean {
  const i = (FORWARD_STEPS as readonly string[]).indexOf(step);
  return i >= 0 && i < SWITCH_INDEX;
}

export function nextStep(step: MigrationStep): MigrationStep {
  const i = (FORWARD_STEPS as readonly string[]).indexOf(step);
  return i >= 0 && i < FORWARD_STEPS.length - 1 ? FORWARD_STEPS[i + 1]! : 'done';
}

/** Where each step's progress starts and ends, in overall percent: the transfer dominates. */
const SPAN: Record<(typeof FORWARD_STEPS)[number], [number, number]> = {
  stop: [0, 5],
  backup: [5, 20],
  transfer: [20, 80],
  create: [80, 85],
  restore: [85, 92],
  switch: [92, 93],
  start: [93, 97],
  cleanup: [97, 100],
};

export function overallPercent(step: MigrationStep, fraction = 0): number {
  if (step === 'done') return 100;
  if (step === 'rollback') return 0;
  const [from, to] = SPAN[step];
  return Math.round((from + (to - from) * Math.min(1, Math.max(0, fraction))) * 10) / 10;
}

/**
 * The id of the agent job a migration sends at one step. Derived, not random: a runner resuming
 * after a hub restart asks for the same id, finds the operation it created before, and waits for
 * it instead of sending the job again (the agent's journal answers a redelivery of it anyway).
 * Formatted as an RFC 9562 version-8 UUID.
 */
export function stepOperationId(migrationId: string, key: string): string {
  const h = createHash('sha256').update(`migration:${migrationId}:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Backup archives a migration leaves on both hosts, named after it (8-64 of [A-Za-z0-9_-]). */
export function migrationBackupId(migrationId: string): string {
  return `mig-${migrationId}`;
}

/** One agent job of a clean-up or rollback: on which side, under which key (its derived id), what. */
export interface SideJob {
  side: 'source' | 'target';
  key: string;
  job: AnyJob;
}

/** After a successful switch: the source copy and both archives go. */
export function cleanupJobs(migrationId: string, instanceId: string): SideJob[] {
  const backup = { instance_id: instanceId, backup_id: migrationBackupId(migrationId) };
  return [
    { side: 'source', key: 'cleanup-backup-source', job: { kind: 'instance.backup.delete', payload: backup } },
    {
      side: 'source',
      key: 'cleanup-instance-source',
      job: { kind: 'instance.delete', payload: { instance_id: instanceId } },
    },
    { side: 'target', key: 'cleanup-backup-target', job: { kind: 'instance.backup.delete', payload: backup } },
  ];
}

/**
 * Undoing a migration that failed (or was cancelled) at `failedAt`, before the switch: the instance
 * runs again on the source first (when it ran and still should), then what reached the target and
 * the archives are removed.
 */
export function rollbackJobs(
  migrationId: string,
  instanceId: string,
  failedAt: MigrationStep,
  restartOnSource: boolean,
): SideJob[] {
  const backup = { instance_id: instanceId, backup_id: migrationBackupId(migrationId) };
  const jobs: SideJob[] = [];
  if (restartOnSource)
    jobs.push({
      side: 'source',
      key: 'rollback-start-source',
      job: { kind: 'instance.start', payload: { instance_id: instanceId } },
    });
  if (['transfer', 'create', 'restore', 'switch'].includes(failedAt)) {
    jobs.push({
      side: 'target',
      key: 'rollback-instance-target',
      job: { kind: 'instance.delete', payload: { instance_id: instanceId } },
    });
    jobs.push({
      side: 'target',
      key: 'rollback-backup-target',
      job: { kind: 'instance.backup.delete', payload: backup },
    });
  }
  if (failedAt !== 'stop')
    jobs.push({
      side: 'source',
      key: 'rollback-backup-source',
      job: { kind: 'instance.backup.delete', payload: backup },
    });
  return jobs;
}

/** The target gets the instance with its data restored from the backup: installing again would overwrite it. */
export function specWithoutInstall(spec: InstanceSpec): InstanceSpec {
  const { install: _install, ...rest } = spec;
  return rest;
}

export type TargetChoice =
  { ok: true; nodeId: string } | { ok: false; reason: string; rejected: { node_id: string; reasons: string[] }[] };

/**
 * Where an instance can go: the planner's `place()` over the organization's nodes without the
 * source (a cordoned or draining source is rejected anyway), or only the requested target.
 */
export function chooseTarget(
  request: PlacementRequest,
  nodes: readonly PlacementNode[],
  sourceNodeId: string,
  nameOf: (id: string) => string,
  requested?: string,
): TargetChoice {
  const candidates = nodes.filter((n) => n.id !== sourceNodeId && (requested === undefined || n.id === requested));
  if (requested !== undefined && candidates.length === 0)
    return { ok: false, reason: `node ${nameOf(requested)} is not a node of this organization`, rejected: [] };
  const result = place(request, candidates, { explainLimit: 10 });
  if (result.chosen) return { ok: true, nodeId: result.chosen };
  const rejected = result.rejected.map((r) => ({ node_id: r.node_id, reasons: r.reasons }));
  if (candidates.length === 0) return { ok: false, reason: 'the organization has no other node', rejected };
  if (requested !== undefined)
    return {
      ok: false,
      reason: `${nameOf(requested)}: ${rejected[0]?.reasons.join('; ') ?? 'does not fit'}`,
      rejected,
    };
  return { ok: false, reason: describePlacement(result, nameOf), rejected };
}

/** Counts a planned migration against its target, so the next instance planned in the same pass sees it. */
export function reserveOn(nodes: PlacementNode[], nodeId: string, r: PlacementResources): void {
  const i = nodes.findIndex((n) => n.id === nodeId);
  const n = nodes[i];
  if (!n) return;
  nodes[i] = {
    ...n,
    allocated: {
      cpu_cores: n.allocated.cpu_cores + r.cpu_cores,
      memory_bytes: n.allocated.memory_bytes + r.memory_bytes,
      disk_bytes: n.allocated.disk_bytes + r.disk_bytes,
    },
  };
}
