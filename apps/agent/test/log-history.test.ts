import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { rotateIfLarge } from '../src/instances/log-files';
import { clearLogFile, crlfToLf, fileLogHistory, skipLines } from '../src/instances/log-history';
import { tempDir } from './support/agent-process';

/** A log dir with `output.log.2` (oldest), `.1` and the current file, each last written a minute apart. */
function rotatedLog(): string {
  const dir = tempDir();
  const file = join(dir, 'output.log');
  const base = Date.now() / 1000 - 600;
  const parts: [string, string, number][] = [
    [`${file}.2`, 'a1\na2\n', base],
    [`${file}.1`, 'b1\nb2', base + 60],
    [file, 'c1\nc2\n', base + 120],
  ];
  for (const [path, content, t] of parts) {
    writeFileSync(path, content);
    utimesSync(path, t, t);
  }
  return file;
}

const history = async (file: string, range = {}) => text((await fileLogHistory(file, range)).body);
const at = (file: string, suffix: string, deltaMs: number) => new Date(statSync(`${file}${suffix}`).mtimeMs + deltaMs);

describe('output log history (process driver files)', () => {
  it('joins the rotated files oldest first, a missing final newline added between files', async () => {
    assert.equal(await history(rotatedLog()), 'a1\na2\nb1\nb2\nc1\nc2\n');
  });

  it('lines= keeps the last N across files; a time window selects the files whose span meets it', async () => {
    const file = rotatedLog();
    assert.equal(await history(file, { lines: 3 }), 'b2\nc1\nc2\n');
    assert.equal(await history(file, { lines: 100 }), 'a1\na2\nb1\nb2\nc1\nc2\n');
    assert.equal(
      await history(file, { since: at(file, '.1', 1000) }),
      'c1\nc2\n',
      'since after .1 was last written: only the current file',
    );
    assert.equal(
      await history(file, { until: at(file, '.1', -1000) }),
      'a1\na2\nb1\nb2\n',
      'until before .1 ended: not the current file',
    );
    assert.equal(await history(file, { since: new Date(Date.now() + 60_000) }), '');
  });

  it('clear removes the rotated files and truncates the current one', async () => {
    const file = rotatedLog();
    assert.deepEqual(clearLogFile(file), { files_removed: 2, bytes_removed: 17 });
    assert.deepEqual(readdirSync(join(file, '..')), ['output.log']);
    assert.equal(statSync(file).size, 0);
  });

  it("rotation keeps the copy's last write time", () => {
    const file = join(tempDir(), 'output.log');
    writeFileSync(file, 'x'.repeat(2000));
    utimesSync(file, 1_000_000, 1_000_000);
    assert.equal(rotateIfLarge(file, 1024, 3), true);
    assert.equal(statSync(`${file}.1`).mtimeMs, 1_000_000_000);
    assert.equal(statSync(file).size, 0);
    assert.ok(existsSync(`${file}.1`));
  });

  it('CRLF split across chunks becomes LF; skipLines drops lines split across chunks', async () => {
    assert.equal(await text(Readable.from([Buffer.from('a\r'), Buffer.from('\nb\r\n')]).pipe(crlfToLf())), 'a\nb\n');
    assert.equal(
      await text(Readable.from([Buffer.from('one\ntw'), Buffer.from('o\nthree\n')]).pipe(skipLines(2))),
      'three\n',
    );
  });
});
