import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { classifyFault } from '../src/process/process-faults';
import { DomainError } from '../src/http/errors';

const MODULE = join(__dirname, '../src/process/process-faults.js');

/** Runs a small program that installs the hub's handler, then rejects a promise nobody handles. */
function rejectInChild(rejection: string): {
  status: number | null;
  lines: { level: number; msg: string; fault?: string }[];
} {
  const program = `
    const pino = require(${JSON.stringify(require.resolve('pino'))});
    const { installProcessFaultHandler } = require(${JSON.stringify(MODULE)});
    installProcessFaultHandler(pino());
    Promise.reject(${rejection});
    setTimeout(() => { console.log(JSON.stringify({ level: 30, msg: 'still running' })); process.exit(0); }, 300);
  `;
  const res = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 10_000 });
  const lines = res.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; fault?: string });
  return { status: res.status, lines };
}

describe('unhandled rejections', () => {
  it('an operational error (a peer gone, a timeout, a domain error) is logged and the process carries on', () => {
    for (const rejection of [
      `Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })`,
      `new Error('operation has timed out')`,
      `(() => { class AgentGoneError extends Error {}; return new AgentGoneError('agent disconnected'); })()`,
    ]) {
      const run = rejectInChild(rejection);
      assert.equal(run.status, 0, rejection);
      assert.ok(
        run.lines.some((l) => l.fault === 'operational' && l.level === 50),
        `logged as operational: ${rejection}`,
      );
      assert.ok(
        run.lines.some((l) => l.msg === 'still running'),
        rejection,
      );
    }
  });

  it('a programming error is logged as fatal and the process exits 1 for its supervisor to restart', () => {
    const run = rejectInChild(`new TypeError("Cannot read properties of undefined (reading 'id')")`);
    assert.equal(run.status, 1);
    assert.ok(run.lines.some((l) => l.fault === 'fatal' && l.level === 60));
    assert.ok(!run.lines.some((l) => l.msg === 'still running'));
  });

  it('classifies by type, code, name and known library messages; anything unknown is fatal', () => {
    assert.equal(classifyFault(new DomainError('x', 'conflict', 409)), 'operational');
    assert.equal(classifyFault(Object.assign(new Error('x'), { code: 'EPIPE' })), 'operational');
    assert.equal(classifyFault(new Error('Connection is closed.')), 'operational');
    assert.equal(classifyFault(new RangeError('Invalid array length')), 'fatal');
    assert.equal(classifyFault(new Error('something new')), 'fatal');
    assert.equal(classifyFault('a string'), 'fatal');
  });
});
