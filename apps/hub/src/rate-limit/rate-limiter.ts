import type { RedisClient } from '../redis/redis.service';

export interface RateLimitResult {
  limit: number;
  remaining: number;
  /** Unix time (seconds) at which the window resets. */
  resetAt: number;
  retryAfterSeconds: number;
  allowed: boolean;
}

// Fixed window: one round trip, atomic, and the key expires by itself.
const WINDOW_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

type WithWindowCommand = RedisClient & { hpRateWindow(key: string, windowMs: number): Promise<[number, number]> };

/** Counters live in Redis so every hub replica enforces the same limit. */
export class RateLimiter {
  private readonly redis: WithWindowCommand;

  constructor(redis: RedisClient) {
    if (!('hpRateWindow' in redis)) redis.defineCommand('hpRateWindow', { numberOfKeys: 1, lua: WINDOW_SCRIPT });
    this.redis = redis as WithWindowCommand;
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    const [count, ttlMs] = await this.redis.hpRateWindow(key, windowSeconds * 1000);
    const retryAfterSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    return {
      limit,
      remaining: Math.max(0, limit - count),
      resetAt: Math.ceil((Date.now() + ttlMs) / 1000),
      retryAfterSeconds,
      allowed: count <= limit,
    };
  }
}
