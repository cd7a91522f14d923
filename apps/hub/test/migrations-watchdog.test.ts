import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StepWatchdog } from '../src/instance-migrations/migration-watchdog';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HEARTBEAT_MS = 1000;

describe('migration step watchdog', () => {
  it('a job nobody takes (queued, unchanged) stalls after the limit; a change in its row resets it', async () => {
    const w = new StepWatchdog(200);
    const op = { id: 'a', status: 'queued', deliveries: 0, updatedAt: new Date(1000) };
    w.observeJob(op, undefined, HEARTBEAT_MS);
    await sleep(50);
    w.observeJob(op, undefined, HEARTBEAT_MS);
    assert.equal(w.stalled, false);
    await sleep(200);
    w.observeJob(op, undefined, HEARTBEAT_MS);
    assert.equal(w.stalled, true, 'no change for longer than the limit');
    w.observeJob({ ...op, updatedAt: new Date(2000) }, undefined, HEARTBEAT_MS);
    assert.equal(w.stalled, false, 'a progress report moved updated_at');
  });

  it('a running job its heartbeating agent lists is slow, not stuck; one its agent dropped, or a silent agent, stalls', async () => {
    const op = { id: 'job-1', status: 'running', deliveries: 1, updatedAt: new Date(1000) };
    const live = new StepWatchdog(150);
    const dropped = new StepWatchdog(150);
    const silent = new StepWatchdog(150);
    for (let i = 0; i < 5; i++) {
      live.observeJob(op, { lastHeartbeatAt: Date.now(), runningJobs: ['job-1'] }, HEARTBEAT_MS);
      dropped.observeJob(op, { lastHeartbeatAt: Date.now(), runningJobs: [] }, HEARTBEAT_MS);
      silent.observeJob(op, { lastHeartbeatAt: Date.now() - 5 * HEARTBEAT_MS, runningJobs: ['job-1'] }, HEARTBEAT_MS);
      await sleep(50);
    }
    assert.equal(live.stalled, false);
    assert.equal(dropped.stalled, true);
    assert.equal(silent.stalled, true);
  });

  it('bytes moving (touch) keep a transfer alive', async () => {
    const w = new StepWatchdog(150);
    for (let i = 0; i < 5; i++) {
      w.touch();
      await sleep(50);
    }
    assert.equal(w.stalled, false);
    await sleep(200);
    assert.equal(w.stalled, true);
  });
});
