import { randomUUID } from 'node:crypto';
import { InstanceSpec, instanceSpec, InstanceSpecInput, InstanceStateFrame } from '@hostplane/protocol';
import type { ConsoleHandle, InstanceDriver } from '../../src/drivers/driver';

export const TEST_IMAGE = 'hostplane/busybox:test';

/** Answers each console line, exits 0 on SIGTERM: a well-behaved workload. */
export const ECHO_WORKLOAD = `echo booting; cat installed.txt 2>/dev/null; trap 'echo got-term; exit 0' TERM; echo READY; while read line; do echo "answer: $line"; done`;
/** Ignores SIGTERM: only SIGKILL stops it. */
export const STUBBORN_WORKLOAD = `trap '' TERM; echo READY; while true; do sleep 1; done`;

export function buildSpec(
  driver: 'process' | 'docker' | 'zone' | 'parallels',
  overrides: Partial<InstanceSpecInput> = {},
): InstanceSpec {
  return instanceSpec.parse({
    instance_id: randomUUID(),
    driver,
    image: driver === 'docker' ? TEST_IMAGE : undefined,
    // The simulated Parallels host has a VM `base` to clone (support/sim-parallels.ts).
    parallels: driver === 'parallels' ? { source: { vm: 'base' } } : undefined,
    startup: ECHO_WORKLOAD,
    stop: { type: 'signal', value: 'SIGTERM', grace_seconds: 5 },
    restart: { policy: 'never', max_retries: 0, backoff_seconds: 0 },
    ...overrides,
  });
}

export function recordStates(driver: InstanceDriver): InstanceStateFrame[] {
  const frames: InstanceStateFrame[] = [];
  driver.onState((f) => frames.push(f));
  return frames;
}

export async function until<T>(
  what: string,
  probe: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Collects a console's output as text. */
export function consoleOutput(handle: Pick<ConsoleHandle, 'onData'>): () => string {
  let text = '';
  handle.onData((c) => (text += c.toString('utf8')));
  return () => text;
}
