import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectCgroups, InstanceCgroup } from '../src/sandbox/cgroups';
import { tempDir } from './support/agent-process';

const MiB = 1024 * 1024;

/**
 * This machine has cgroup v1 (the sandbox tests exercise it for real); most current hosts have v2.
 * A directory laid out as a v2 root checks what the agent writes there, file by file.
 */
describe('sandbox cgroups: the v2 layout', () => {
  function v2Root(controllers = 'cpuset cpu io memory pids'): string {
    const root = tempDir();
    writeFileSync(join(root, 'cgroup.controllers'), `${controllers}\n`);
    writeFileSync(join(root, 'cgroup.subtree_control'), 'cpuset\n');
    return root;
  }

  it('is detected, enables cpu, memory and pids for hostplane/, and writes memory (no swap), CPU quota and pids limits', () => {
    const root = v2Root();
    mkdirSync(join(root, 'hostplane'));
    writeFileSync(join(root, 'hostplane', 'cgroup.subtree_control'), '');
    const layout = detectCgroups(root);
    assert.deepEqual(layout, { version: 2, root });
    assert.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+cpu +memory +pids');
    if ('problem' in layout) return;
    const cgroup = new InstanceCgroup(layout, 'abc');
    assert.deepEqual(cgroup.dirs, [join(root, 'hostplane', 'abc')]);
    const dir = join(root, 'hostplane', 'abc');
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.swap.max'), 'max');
    cgroup.apply({ memoryBytes: 64 * MiB, cpuCores: 1.5, pidsMax: 100 });
    assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), String(64 * MiB));
    assert.equal(readFileSync(join(dir, 'memory.swap.max'), 'utf8'), '0');
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), '150000 100000');
    assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8'), '100');
    cgroup.apply({ pidsMax: 512 });
    assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8'), 'max');
    assert.equal(readFileSync(join(dir, 'cpu.max'), 'utf8'), 'max 100000');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    assert.equal(cgroup.oomKills(), 1);
  });

  it('says why not when a controller is missing, and when neither v2 nor v1 is there', () => {
    assert.match((detectCgroups(v2Root('cpu memory')) as { problem: string }).problem, /lacks the pids controller/);
    assert.match(
      (detectCgroups(tempDir()) as { problem: string }).problem,
      /no cgroup v2 tree and no cgroup v1 memory, pids, cpu/,
    );
  });

  it('this machine: v1 or v2 is found and usable', () => {
    const layout = detectCgroups();
    assert.ok(!('problem' in layout), JSON.stringify(layout));
  });
});
