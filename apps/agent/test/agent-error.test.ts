import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerError } from '../src/containers/container-control';
import { DriverError } from '../src/drivers/driver';
import { codedFailure } from '../src/errors/agent-error';
import { FileError } from '../src/files/file-error';
import { JobFailure } from '../src/jobs/handler-registry';
import { TerminalOpenError } from '../src/streams/terminal';

describe('the one error translation of the agent', () => {
  it('keeps the code of every coded error, whichever part raised it', () => {
    const coded = [
      new FileError('path_not_found', 'a: no such file'),
      new ContainerError('container_not_found', 'no container x'),
      new DriverError('start_failed', 'exec format error'),
      new JobFailure('no_such_process', 'no process with pid 4'),
      new TerminalOpenError('shell_not_found', 'no shell'),
    ];
    assert.deepEqual(
      coded.map((e) => codedFailure(e, 'handler_error')),
      coded.map((e) => ({ code: e.code, message: e.message, coded: true })),
    );
    assert.equal(new FileError('no_space', 'disk full').name, 'FileError');
  });

  it('gives anything else the fallback code and cuts long messages', () => {
    assert.deepEqual(codedFailure(new Error('boom'), 'io_error'), { code: 'io_error', message: 'boom', coded: false });
    assert.deepEqual(codedFailure('a string', 'open_failed'), {
      code: 'open_failed',
      message: 'a string',
      coded: false,
    });
    assert.equal(codedFailure(new FileError('io_error', 'x'.repeat(5000)), 'io_error').message.length, 2000);
  });
});
