import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommandError, runCommand } from '../src/exec/run-command';

async function commandError(run: Promise<unknown>): Promise<CommandError> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof CommandError, `expected CommandError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the command to fail');
}

describe('exec layer', () => {
  it('passes arguments as they are, with no shell to interpret them', async () => {
    const { stdout, exitCode } = await runCommand(['echo', '$HOME; rm -rf / `id`']);
    assert.equal(stdout, '$HOME; rm -rf / `id`\n');
    assert.equal(exitCode, 0);
  });

  it('reports a failing command with its exit code and the tail of its stderr', async () => {
    const err = await commandError(runCommand(['sh', '-c', 'echo "zone web-1 not found" >&2; exit 3']));
    assert.equal(err.failure, 'exit');
    assert.equal(err.exitCode, 3);
    assert.equal(
      err.message,
      '"sh -c echo "zone web-1 not found" >&2; exit 3" exited with code 3: zone web-1 not found',
    );
    const ok = await runCommand(['sh', '-c', 'echo inactive; exit 3'], { okExitCodes: [3] });
    assert.equal(ok.stdout, 'inactive\n');
  });

  it('kills a command that runs past its timeout', async () => {
    const started = Date.now();
    const err = await commandError(runCommand(['sleep', '10'], { timeoutMs: 200 }));
    assert.equal(err.failure, 'timeout');
    assert.equal(err.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 2000);
  });

  it('kills a command that prints more than the output limit', async () => {
    const err = await commandError(runCommand(['head', '-c', '1000000', '/dev/zero'], { maxOutputBytes: 1000 }));
    assert.equal(err.failure, 'output_limit');
    assert.match(err.message, /printed more than 1000 bytes/);
  });

  it('says so when a tool is not installed', async () => {
    const err = await commandError(runCommand(['hostplane-no-such-tool', '--version']));
    assert.equal(err.failure, 'spawn');
    assert.match(err.message, /cannot be run: ENOENT \(not installed or not on PATH\)/);
  });
});
