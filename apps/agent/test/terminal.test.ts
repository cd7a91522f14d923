import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STREAM_CHUNK_BYTES, STREAM_INITIAL_CREDIT } from '@hostplane/protocol';
import { AgentProcess, registeredStateDir, startAgent, testAgentToken } from './support/agent-process';
import { TestHub, waitFor } from './support/test-hub';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('host terminal over the tunnel', () => {
  const token = testAgentToken();
  let hub: TestHub;
  let agent: AgentProcess;

  before(async () => {
    hub = await TestHub.start({ token });
    agent = startAgent(registeredStateDir(hub.url, token), { HOSTPLANE_AGENT_SECRET_PROBE: 'must-not-leak' });
    await waitFor('welcome', () => hub.inventories.length > 0);
  });

  after(async () => {
    await agent.stop();
    await hub.stop();
  });

  const shellPid = (streamId: string) =>
    waitFor(
      'terminal opened log',
      () =>
        agent.logs().find((l) => l.msg === 'terminal opened' && l.stream_id === streamId)?.pid as number | undefined,
    );

  it('runs a command typed into it, resizes, and reports the exit code when the shell exits', async () => {
    const ack = await hub.openTerminal('term-echo-1', { initialCredit: STREAM_INITIAL_CREDIT, autoCredit: true });
    assert.deepEqual(ack, { ok: true, initial_credit: STREAM_INITIAL_CREDIT });
    // A login shell still setting up its terminal may discard what was typed (seen under load): type until it answers.
    const typer = setInterval(
      () => hub.emit('stream:data', { stream_id: 'term-echo-1', data: Buffer.from('echo hi\n') }),
      1000,
    );
    hub.emit('stream:data', { stream_id: 'term-echo-1', data: Buffer.from('echo hi\n') });
    await waitFor('hi echoed back', () => /\r\nhi\r\n/.test(hub.streamOutput('term-echo-1'))).finally(() =>
      clearInterval(typer),
    );

    hub.emit('stream:control', { stream_id: 'term-echo-1', type: 'resize', cols: 132, rows: 43 });
    hub.emit('stream:data', { stream_id: 'term-echo-1', data: Buffer.from('stty size\n') });
    await waitFor('new size reported by stty', () => /\r\n43 132\r\n/.test(hub.streamOutput('term-echo-1')));

    hub.emit('stream:data', { stream_id: 'term-echo-1', data: Buffer.from('env; exit 7\n') });
    const closed = await waitFor('close after exit', () => hub.streams.get('term-echo-1')?.closed);
    assert.equal(closed.exit_code, 7);
    const output = hub.streamOutput('term-echo-1');
    assert.match(output, /TERM=xterm-256color/);
    assert.doesNotMatch(output, /HOSTPLANE_AGENT_|must-not-leak/, 'the agent environment stays out of the shell');
  });

  it('kills the shell when the hub closes the stream', async () => {
    const ack = await hub.openTerminal('term-close-1', { initialCredit: STREAM_INITIAL_CREDIT, autoCredit: true });
    assert.equal(ack.ok, true);
    const pid = await shellPid('term-close-1');
    assert.ok(alive(pid));
    hub.emit('stream:close', { stream_id: 'term-close-1', reason: 'browser tab closed' });
    await waitFor('shell gone', () => !alive(pid), 5000);
  });

  it('never sends more output than the credit granted, and resumes when credit arrives', async () => {
    const credit = 16;
    const ack = await hub.openTerminal('term-credit-1', { initialCredit: credit, autoCredit: false });
    assert.equal(ack.ok, true);
    hub.emit('stream:data', { stream_id: 'term-credit-1', data: Buffer.from('seq 1 3000; echo done-$((40+2))\n') });
    await waitFor('first credit used', () => hub.streamBytes('term-credit-1') === credit);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(hub.streamBytes('term-credit-1'), credit, 'no byte beyond the credit');

    const more = 1000;
    hub.emit('stream:credit', { stream_id: 'term-credit-1', bytes: more });
    await waitFor('second credit used', () => hub.streamBytes('term-credit-1') === credit + more);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hub.streamBytes('term-credit-1'), credit + more);

    hub.emit('stream:credit', { stream_id: 'term-credit-1', bytes: 1024 * 1024 });
    await waitFor('all output after enough credit', () => hub.streamOutput('term-credit-1').includes('done-42'));
    for (const chunk of hub.streams.get('term-credit-1')?.data ?? []) assert.ok(chunk.length <= STREAM_CHUNK_BYTES);
    assert.match(hub.streamOutput('term-credit-1'), /\r\n2999\r\n3000\r\n/, 'output arrives complete and in order');
    hub.emit('stream:close', { stream_id: 'term-credit-1' });
  });

  it('refuses a terminal with bad params or a reused id, and reports data for an unknown stream', async () => {
    const bad = await hub.emitWithAck('stream:open', {
      stream_id: 'term-bad-1',
      kind: 'terminal',
      params: { cols: 0 },
      initial_credit: 100,
    });
    assert.equal((bad as { ok: boolean }).ok, false);
    assert.equal((await hub.openTerminal('term-dup-1', { initialCredit: 100, autoCredit: true })).ok, true);
    const dup = await hub.openTerminal('term-dup-1', { initialCredit: 100, autoCredit: true });
    assert.deepEqual(dup.ok ? null : dup.error.code, 'stream_exists');
    const errorsBefore = hub.errors.length;
    hub.emit('stream:data', { stream_id: 'no-such-stream', data: Buffer.from('x') });
    const error = await waitFor('unknown stream error', () =>
      hub.errors.slice(errorsBefore).find((e) => e.code === 'unknown_stream'),
    );
    assert.equal(error.event, 'stream:data');
  });

  it('kills every shell of a session when the tunnel drops', async () => {
    assert.equal((await hub.openTerminal('term-drop-1', { initialCredit: 1000, autoCredit: true })).ok, true);
    const pid = await shellPid('term-drop-1');
    hub.socket?.disconnect(true);
    await waitFor('shell killed with its session', () => !alive(pid), 5000);
    assert.deepEqual(hub.violations, []);
  });
});
