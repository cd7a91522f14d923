/** The longest a replica waits past the start of a period before asking for it. */
export const MAX_JITTER_MS = 1000;

/**
 * Milliseconds from `now` to this replica's next chance at a period: the start of the next
 * period plus a jitter of up to a tenth of the period (at most MAX_JITTER_MS), so that replicas
 * do not all ask Redis at the same instant. `random` is in [0, 1).
 */
export function nextTickDelay(now: number, everyMs: number, random: number): number {
  const nextStart = (Math.floor(now / everyMs) + 1) * everyMs;
  const jitter = Math.floor(random * Math.min(everyMs / 10, MAX_JITTER_MS));
  return nextStart + jitter - now;
}
