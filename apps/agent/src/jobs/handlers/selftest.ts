import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobFailure, JobHandler } from '../handler-registry';

export const SELFTEST_LOG = 'selftest.log';

/**
 * Proves the job pipeline end to end. Its effect is idempotent per job id: the line is appended
 * only if that job's line is absent, so a crash between the effect and the journal write, followed
 * by a redelivery, still leaves exactly one line.
 */
export function createSelftestHandler(stateDir: string): JobHandler<'agent.selftest'> {
  return async (payload, ctx) => {
    const stepDelayMs = payload.delay_ms / payload.steps;
    for (let step = 1; step <= payload.steps; step++) {
      if (stepDelayMs > 0) await sleep(stepDelayMs, undefined, { signal: ctx.signal });
      ctx.progress((step * 100) / payload.steps, `step ${step} of ${payload.steps}`);
    }
    ctx.signal.throwIfAborted();
    if (payload.fail_with !== undefined)
      throw new JobFailure('selftest_failed', payload.fail_with || 'the self-test was asked to fail');
    const file = join(stateDir, SELFTEST_LOG);
    const line = `${ctx.jobId} ${payload.marker}`;
    await appendLineOnce(file, `${ctx.jobId} `, line);
    return { line, file };
  };
}

async function appendLineOnce(file: string, linePrefix: string, line: string): Promise<void> {
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing.split('\n').some((l) => l.startsWith(linePrefix))) return;
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.write(`${line}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
