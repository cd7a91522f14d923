export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Below this a "full jitter" draw would be a busy loop against a hub that refuses at once. */
const MIN_DELAY_MS = 50;

/**
 * Exponential backoff with full jitter: a uniform draw below min(cap, initial · 2^attempt), so
 * a fleet that lost its hub at the same moment does not come back in lockstep.
 */
export function reconnectDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.max(Math.min(MIN_DELAY_MS, ceiling), Math.floor(random() * ceiling));
}
