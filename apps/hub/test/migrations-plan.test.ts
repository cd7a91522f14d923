import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  beforeSwitch,
  chooseTarget,
  cleanupJobs,
  migrationBackupId,
  nextStep,
  overallPercent,
  reserveOn,
  rollbackJobs,
  specWithoutInstall,
  stepOperationId,
} from '../src/instance-migrations/migration-plan';
import type { PlacementNode } from '../src/scheduler/placement';

const GiB = 1024 ** 3;
const node = (id: string, memGiB: number, extra: Partial<PlacementNode> = {}): PlacementNode => ({
  id,
  status: 'online',
  schedulable: true,
  drivers: [{ name: 'process', available: true }],
  labels: {},
  capacity: { cpu_cores: 4, memory_bytes: memGiB * GiB, disk_bytes: 100 * GiB },
  allocated: { cpu_cores: 0, memory_bytes: 0, disk_bytes: 0 },
  ...extra,
});
const want = { driver: 'process', resources: { cpu_cores: 1, memory_bytes: GiB, disk_bytes: 0 } };
const name = (id: string) => `node-${id}`;

describe('migration plan (pure)', () => {
  it('steps run in order; cancel and rollback apply only before the switch', () => {
    const order = ['stop'];
    while (order[order.length - 1] !== 'done') order.push(nextStep(order[order.length - 1] as never));
    assert.deepEqual(order, ['stop', 'backup', 'transfer', 'create', 'restore', 'switch', 'start', 'cleanup', 'done']);
    assert.deepEqual(
      order.filter((s) => beforeSwitch(s as never)),
      ['stop', 'backup', 'transfer', 'create', 'restore'],
    );
    assert.equal(beforeSwitch('rollback'), false);
    assert.ok(
      overallPercent('transfer', 0.5) > overallPercent('transfer', 0) &&
        overallPercent('transfer', 0.5) < overallPercent('create'),
    );
    assert.equal(overallPercent('done'), 100);
  });

  it('step operation ids are derived: the same migration and step give the same valid UUID, anything else another', () => {
    const m = '7b0e7c1e-3f7a-4c55-9d7e-0b5c2f1a9e10';
    const id = stepOperationId(m, 'stop');
    assert.equal(id, stepOperationId(m, 'stop'));
    assert.notEqual(id, stepOperationId(m, 'backup'));
    assert.notEqual(id, stepOperationId('8b0e7c1e-3f7a-4c55-9d7e-0b5c2f1a9e10', 'stop'));
    assert.ok(z.uuid().safeParse(id).success, id);
    assert.match(migrationBackupId(m), /^[A-Za-z0-9_-]{8,64}$/);
  });

  it('the target never is the source, even when the source fits best', () => {
    const nodes = [node('a', 64), node('b', 8)];
    const c = chooseTarget(want, nodes, 'a', name);
    assert.deepEqual(c, { ok: true, nodeId: 'b' });
    const only = chooseTarget(want, [node('a', 64)], 'a', name);
    assert.equal(only.ok, false);
    assert.match((only as { reason: string }).reason, /no other node/);
  });

  it('one that fits nowhere gets the planner explanation; a requested target is checked alone', () => {
    const full = chooseTarget(want, [node('a', 64), node('b', 0.5), node('c', 8, { schedulable: false })], 'a', name);
    assert.equal(full.ok, false);
    assert.match((full as { reason: string }).reason, /none of 2 nodes fit: 1 cordoned, 1 short of memory/);
    const asked = chooseTarget(want, [node('a', 64), node('b', 0.5), node('c', 8)], 'a', name, 'b');
    assert.equal(asked.ok, false);
    assert.match((asked as { reason: string }).reason, /^node-b: /);
    assert.deepEqual(chooseTarget(want, [node('a', 64), node('b', 0.5), node('c', 8)], 'a', name, 'c'), {
      ok: true,
      nodeId: 'c',
    });
  });

  it('planning several at once counts each against its target', () => {
    const nodes = [node('a', 64), node('b', 1.5)];
    const first = chooseTarget(want, nodes, 'a', name);
    assert.deepEqual(first, { ok: true, nodeId: 'b' });
    reserveOn(nodes, 'b', want.resources);
    assert.equal(chooseTarget(want, nodes, 'a', name).ok, false, 'b is full after the first');
  });

  it('rollback undoes what the failed step could have left, restarting on the source first; clean-up clears the source and both archives', () => {
    const m = '7b0e7c1e-3f7a-4c55-9d7e-0b5c2f1a9e10';
    const i = '9b0e7c1e-3f7a-4c55-9d7e-0b5c2f1a9e11';
    const shape = (jobs: ReturnType<typeof rollbackJobs>) => jobs.map((j) => `${j.side}:${j.job.kind}`);
    assert.deepEqual(shape(rollbackJobs(m, i, 'stop', true)), ['source:instance.start']);
    assert.deepEqual(shape(rollbackJobs(m, i, 'backup', false)), ['source:instance.backup.delete']);
    assert.deepEqual(shape(rollbackJobs(m, i, 'restore', true)), [
      'source:instance.start',
      'target:instance.delete',
      'target:instance.backup.delete',
      'source:instance.backup.delete',
    ]);
    assert.deepEqual(shape(cleanupJobs(m, i)), [
      'source:instance.backup.delete',
      'source:instance.delete',
      'target:instance.backup.delete',
    ]);
    const keys = [...rollbackJobs(m, i, 'restore', true), ...cleanupJobs(m, i)].map((j) => j.key);
    assert.equal(new Set(keys).size, keys.length, 'every job has its own derived id');
  });

  it('the spec sent to the target has no install script, nothing else changes', () => {
    const spec = {
      instance_id: '7b0e7c1e-3f7a-4c55-9d7e-0b5c2f1a9e10',
      driver: 'process' as const,
      startup: 'run',
      env: {},
      ports: [],
      resources: {},
      stop: { type: 'signal' as const, value: 'SIGTERM', grace_seconds: 1 },
      restart: { policy: 'never' as const, max_retries: 0, backoff_seconds: 0 },
      config_files: [],
      install: { script: 'x', entrypoint: '/bin/sh' },
    };
    const out = specWithoutInstall(spec);
    assert.equal('install' in out, false);
    assert.equal(out.startup, 'run');
    assert.ok(spec.install, 'the original is untouched');
  });
});
