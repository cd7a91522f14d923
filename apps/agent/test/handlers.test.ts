import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { JOB_KINDS, parseJobPayload } from '@hostplane/protocol';
import { assertHandlersMatchJobKinds, JobContext, JobFailure } from '../src/jobs/handler-registry';
import { createJobHandlers } from '../src/jobs/job-handlers';
import { createProcessKillHandler } from '../src/jobs/handlers/process-kill';
import { createSelftestHandler } from '../src/jobs/handlers/selftest';
import { tempDir } from './support/agent-process';

function context(jobId: string, progress: number[] = []): JobContext {
  return { jobId, signal: new AbortController().signal, progress: (p) => progress.push(p) };
}

async function failureOf(run: () => Promise<unknown>): Promise<JobFailure> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof JobFailure, `expected a JobFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the job to fail');
}

describe('job handlers', () => {
  it('has exactly one handler per job kind, and the check names what is missing or extra', () => {
    const handlers = createJobHandlers({
      stateDir: tempDir(),
      refreshInventory: () => Promise.reject(new Error('unused')),
    });
    assertHandlersMatchJobKinds(handlers);
    const { 'node.process.kill': _dropped, ...missing } = handlers;
    assert.throws(() => assertHandlersMatchJobKinds(missing), /no handler for job kind "node.process.kill"/);
    assert.throws(
      () => assertHandlersMatchJobKinds({ ...handlers, 'vm.teleport': async () => ({}) }),
      /handler for unknown job kind "vm.teleport"/,
    );
    assert.throws(
      () => assertHandlersMatchJobKinds(handlers, { ...JOB_KINDS, 'zone.create': JOB_KINDS['agent.selftest'] }),
      /"zone.create"/,
    );
  });

  it('selftest writes exactly one line when run twice with the same job id, reporting each step', async () => {
    const stateDir = tempDir();
    const selftest = createSelftestHandler(stateDir);
    const payload = parseJobPayload('agent.selftest', { marker: 'once', steps: 4, delay_ms: 40 });
    assert.ok(payload.success);
    const progress: number[] = [];
    const jobId = '3f8e0a52-7c59-4a0e-9a3b-1d8b2c4e5f60';
    const result = await selftest(payload.data, context(jobId, progress));
    await selftest(payload.data, context(jobId));
    await selftest({ ...payload.data, marker: 'other' }, context('9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d'));
    assert.deepEqual(progress, [25, 50, 75, 100]);
    assert.deepEqual(result, { line: `${jobId} once`, file: join(stateDir, 'selftest.log') });
    assert.equal(readFileSync(result.file, 'utf8'), `${jobId} once\n9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d other\n`);
  });

  it('selftest fails with selftest_failed when asked to', async () => {
    const selftest = createSelftestHandler(tempDir());
    const failure = await failureOf(() =>
      selftest(
        { marker: 'm', delay_ms: 0, steps: 1, fail_with: 'disk on fire' },
        context('3f8e0a52-7c59-4a0e-9a3b-1d8b2c4e5f61'),
      ),
    );
    assert.equal(failure.code, 'selftest_failed');
    assert.equal(failure.message, 'disk on fire');
  });

  it('process kill signals a real process, then reports ESRCH as no_such_process', async () => {
    const kill = createProcessKillHandler();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => sleeper.on('exit', (_c, s) => r(s)));
    const pid = sleeper.pid;
    assert.ok(pid);
    assert.deepEqual(await kill({ pid, signal: 'SIGTERM' }, context('3f8e0a52-7c59-4a0e-9a3b-1d8b2c4e5f62')), {
      pid,
      signal: 'SIGTERM',
      delivered: true,
    });
    assert.equal(await exited, 'SIGTERM');
    const gone = await failureOf(() =>
      kill({ pid, signal: 'SIGKILL' }, context('3f8e0a52-7c59-4a0e-9a3b-1d8b2c4e5f63')),
    );
    assert.equal(gone.code, 'no_such_process');
    assert.match(gone.message, new RegExp(`no process with pid ${pid}`));
  });

  it('process kill refuses the agent itself and init', async () => {
    const kill = createProcessKillHandler();
    assert.equal(
      (
        await failureOf(() =>
          kill({ pid: process.pid, signal: 'SIGKILL' }, context('3f8e0a52-7c59-4a0e-9a3b-1d8b2c4e5f64')),
        )
      ).code,
      'refused',
    );
    assert.equal(
      (await failureOf(() => kill({ pid: 1, signal: 'SIGKILL' }, context('3f8e0a52-7c59-4a0e-9a3b-1d8b2c4e5f65'))))
        .code,
      'refused',
    );
  });
});
