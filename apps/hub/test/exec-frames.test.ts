import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkGuestPath, STREAM_KINDS } from '@hostplane/protocol';
import { ExecFrameReader } from '../src/machines/exec-relay';

/** The agent's framing (apps/agent/src/drivers/parallels/guest-exec.ts): the hub never imports the agent. */
function frame(channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(channel, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

describe('machine exec frames and guest paths', () => {
  it('reads the same frames whatever the chunking (as the tunnel and the replica relay cut bytes)', () => {
    const frames = [
      { channel: 1, payload: randomBytes(70_000) },
      { channel: 2, payload: Buffer.from('oops\n') },
      { channel: 1, payload: Buffer.alloc(0) },
      { channel: 3, payload: Buffer.from('{"exit_code":3}') },
    ];
    const bytes = Buffer.concat(frames.map((f) => frame(f.channel, f.payload)));
    for (const size of [1, 2, 5, 7, 4096, 65_536, bytes.length]) {
      const reader = new ExecFrameReader();
      const got: { channel: number; payload: Buffer }[] = [];
      for (let at = 0; at < bytes.length; at += size) got.push(...reader.push(bytes.subarray(at, at + size)));
      assert.deepEqual(
        got.map((f) => [f.channel, f.payload.toString('hex')]),
        frames.map((f) => [f.channel, f.payload.toString('hex')]),
        `chunks of ${size}`,
      );
    }
  });

  it('guest paths: absolute files only, no dot parts or control characters, bounded', () => {
    for (const ok of ['/etc/hosts', '/home/ci/a b $(x).bin', '/x', `/${'a'.repeat(1023)}`.slice(0, 1024)])
      assert.equal(checkGuestPath('path', ok), ok);
    for (const bad of [
      '',
      'rel/x',
      '/',
      '/a/',
      '//a',
      '/a//b',
      '/a/../b',
      '/..',
      '/./a',
      '/a\u0000b',
      '/a\nb',
      `/${'a'.repeat(1024)}`,
      5,
    ])
      assert.throws(() => checkGuestPath('path', bad), /path/, JSON.stringify(bad));
    const upload = STREAM_KINDS['machine.upload'];
    assert.equal(upload.safeParse({ vm: 'ubuntu', path: '/tmp/x', max_bytes: 10 }).success, true);
    assert.equal(upload.safeParse({ vm: 'ubuntu', path: '/tmp/../x', max_bytes: 10 }).success, false);
    assert.equal(upload.safeParse({ vm: '-rf', path: '/tmp/x', max_bytes: 10 }).success, false);
    const exec = STREAM_KINDS['machine.exec'];
    assert.equal(exec.safeParse({ vm: 'ubuntu', argv: ['/bin/true'] }).success, true);
    assert.equal(exec.safeParse({ vm: 'ubuntu', argv: ['--help'] }).success, false);
    assert.equal(exec.safeParse({ vm: 'ubuntu', argv: [] }).success, false);
  });
});
