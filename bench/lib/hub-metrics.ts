import type { HubClient } from './hub-client';
import { excessLoopDelayMs } from './resources';

/** The hub's Prometheus metrics without labels, by name. Scraping resets its event-loop lag histogram. */
export async function hubMetrics(client: HubClient): Promise<Map<string, number>> {
  const res = await client.request('/metrics');
  const values = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    const m = /^([A-Za-z0-9_:]+) ([0-9.e+-]+)$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  return values;
}

/** A lag gauge in seconds → the delay beyond prom-client's 10 ms sampling interval, in ms. */
export function loopDelay(seconds: number | undefined): number | null {
  return seconds === undefined || !Number.isFinite(seconds) ? null : excessLoopDelayMs(seconds);
}
