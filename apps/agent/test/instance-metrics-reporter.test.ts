import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { InstanceMetrics } from '@hostplane/protocol';
import { InstanceMetricsReporter } from '../src/instances/instance-metrics-reporter';
import { createInstanceManager } from '../src/drivers/create-instance-manager';
import { createAgentLogger } from '../src/logging/logger';
import { tempDir } from './support/agent-process';
import { buildSpec, until } from './support/instance-builders';

const ctx = () => ({ progress: () => undefined, signal: new AbortController().signal });
const log = createAgentLogger('silent');

/** The session end of the reporter: records what would go over the tunnel. */
function recordingSink() {
  const frames: InstanceMetrics[] = [];
  return { frames, connected: true, sendInstanceMetrics: (f: InstanceMetrics) => frames.push(f) };
}

describe('instance metrics reporter (process driver)', () => {
  const instances = createInstanceManager({ stateDir: tempDir(), dockerSocket: '/nonexistent/docker.sock' });
  after(() => instances.close());

  it('sends one frame per interval with a sample of each running instance, none for stopped ones, nothing once detached', async () => {
    const running = buildSpec('process', { resources: { memory_bytes: 32 * 1024 * 1024 } });
    const stopped = buildSpec('process');
    for (const spec of [running, stopped]) await instances.create(spec, ctx());
    await (await instances.driverOf(running.instance_id)).start(running.instance_id);

    const reporter = new InstanceMetricsReporter(instances, log);
    const sink = recordingSink();
    reporter.attach(sink, 100);
    await until('three frames', () => sink.frames.length >= 3);
    for (const frame of sink.frames) {
      assert.deepEqual(
        frame.samples.map((s) => s.instance_id),
        [running.instance_id],
      );
      assert.ok(frame.samples[0]!.memory_bytes > 0);
      assert.equal(frame.samples[0]!.memory_limit_bytes, 32 * 1024 * 1024);
    }
    reporter.detach();
    const sent = sink.frames.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.frames.length, sent);

    await (await instances.driverOf(running.instance_id)).stop(running.instance_id, 2);
    const quiet = recordingSink();
    reporter.attach(quiet, 100);
    await new Promise((r) => setTimeout(r, 350));
    reporter.detach();
    assert.equal(quiet.frames.length, 0, 'nothing runs: no frames');
  });

  it('a round still collecting makes the next one skip, and a failing instance is left out', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = {
      list: async () => [
        { instance_id: '00000000-0000-4000-8000-000000000001', state: 'running' as const },
        { instance_id: '00000000-0000-4000-8000-000000000002', state: 'running' as const },
      ],
      driverOf: async (id: string) => ({
        stats: async () => {
          calls++;
          await gate;
          if (id.endsWith('2')) throw new Error('engine says no');
          return {
            instance_id: id,
            ts: new Date().toISOString(),
            cpu_percent: 1,
            memory_bytes: 1,
            memory_limit_bytes: null,
            disk_bytes: 0,
            net_rx_bytes: 0,
            net_tx_bytes: 0,
            uptime_seconds: 1,
          };
        },
      }),
    };
    const reporter = new InstanceMetricsReporter(slow, log);
    const sink = recordingSink();
    const first = reporter.report();
    reporter.attach(sink, 1000);
    assert.equal(await reporter.report(), 0, 'skipped while the first round collects');
    release();
    assert.equal(await first, 1);
    reporter.detach();
    assert.equal(calls, 2, 'the skipped round asked nothing');
    assert.deepEqual(
      sink.frames.map((f) => f.samples.map((s) => s.instance_id)),
      [['00000000-0000-4000-8000-000000000001']],
    );
  });
});
