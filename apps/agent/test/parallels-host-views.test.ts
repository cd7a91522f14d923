import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SERVICE_LOG_WINDOW_BYTES, serviceLogTail } from '../src/parallels/prl-host-views';

describe('the Parallels service log tail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hp-prl-log-'));

  it('answers the last lines of a small log whole', async () => {
    const file = join(dir, 'small.log');
    writeFileSync(file, 'one\ntwo\nthree\n');
    assert.deepEqual(await serviceLogTail(file, 2), {
      file,
      exists: true,
      size_bytes: 14,
      lines: ['two', 'three'],
      truncated: true,
    });
    assert.deepEqual((await serviceLogTail(file, 10)).lines, ['one', 'two', 'three']);
    assert.equal((await serviceLogTail(file, 10)).truncated, false);
  });

  it('reads a large log only from its last window, dropping the partial first line', async () => {
    const file = join(dir, 'large.log');
    const line = (i: number) => `12-08 01:40:12.123 I /prl_disp_service:1:2/ line ${String(i).padStart(7, '0')}`;
    const count = Math.ceil((4 * SERVICE_LOG_WINDOW_BYTES) / line(0).length);
    writeFileSync(file, Array.from({ length: count }, (_, i) => line(i)).join('\n') + '\n');
    const tail = await serviceLogTail(file, 5000);
    assert.equal(tail.truncated, true);
    assert.equal(tail.lines.at(-1), line(count - 1));
    assert.ok(tail.lines.length < count / 3, 'at most the window was read');
    assert.ok(
      tail.lines.every((l) => /^12-08 .* line \d{7}$/.test(l)),
      'no partial line',
    );
  });

  it('answers an absent log as absent, not as an error', async () => {
    const tail = await serviceLogTail(join(dir, 'none.log'), 10);
    assert.deepEqual([tail.exists, tail.lines], [false, []]);
  });
});
