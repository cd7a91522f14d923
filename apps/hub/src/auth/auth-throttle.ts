import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { sha256Hex } from '../crypto/opaque-token';
import { HUB_LOGGER } from '../http/logger';
import { RedisService } from '../redis/redis.service';
import { LockedOutError } from './auth.errors';

// Counts a failure; at the threshold, sets the lock and resets the count. Returns the lock's length or 0.
const FAILURE_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return tonumber(ARGV[3])
end
return 0
`;

// Counts an attempt in a fixed window; returns {count, ttl ms}.
const ATTEMPT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`;

export const MFA_ATTEMPTS_PER_MINUTE = 5;

type ThrottleRedis = Redis & {
  hpLoginFailure(
    counter: string,
    lock: string,
    windowSeconds: number,
    max: number,
    lockSeconds: number,
  ): Promise<number>;
  hpAttempt(key: string, windowMs: number): Promise<[number, number]>;
};

/**
 * Brute-force defences kept in Redis, so every replica sees the same counts: failed logins per
 * account and per client address with a temporary lockout (429 + Retry-After), and MFA attempts
 * per user. If Redis is unreachable they fail open, like the request rate limiter, and say so in
 * the log; the per-request argon2 cost still slows a guesser down.
 */
@Injectable()
export class AuthThrottle {
  private readonly redis: ThrottleRedis;
  private lastWarning = 0;

  constructor(
    private readonly redisService: RedisService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    const client = redisService.client;
    if (!('hpLoginFailure' in client)) {
      client.defineCommand('hpLoginFailure', { numberOfKeys: 2, lua: FAILURE_SCRIPT });
      client.defineCommand('hpAttempt', { numberOfKeys: 1, lua: ATTEMPT_SCRIPT });
    }
    this.redis = client as ThrottleRedis;
  }

  /** Refuses a login while its account or address is locked. */
  async assertLoginAllowed(email: string, ip: string): Promise<void> {
    const ttls = await this.safely(() =>
      Promise.all([this.redis.pttl(this.key('lock', 'acct', email)), this.redis.pttl(this.key('lock', 'ip', ip))]),
    );
    if (!ttls) return;
    const [account, address] = ttls;
    if (account > 0) throw new LockedOutError('account_locked', Math.ceil(account / 1000));
    if (address > 0) throw new LockedOutError('ip_locked', Math.ceil(address / 1000));
  }

  async recordLoginFailure(email: string, ip: string): Promise<void> {
    const { maxFailures, ipMaxFailures, windowSeconds, durationSeconds } = this.config.auth.lockout;
    const locked = await this.safely(() =>
      Promise.all([
        this.redis.hpLoginFailure(
          this.key('fail', 'acct', email),
          this.key('lock', 'acct', email),
          windowSeconds,
          maxFailures,
          durationSeconds,
        ),
        this.redis.hpLoginFailure(
          this.key('fail', 'ip', ip),
          this.key('lock', 'ip', ip),
          windowSeconds,
          ipMaxFailures,
          durationSeconds,
        ),
      ]),
    );
    if (locked?.[0])
      this.log.warn(
        { account: this.accountTag(email), seconds: locked[0] },
        'login: account locked after repeated failures',
      );
    if (locked?.[1]) this.log.warn({ ip, seconds: locked[1] }, 'login: address locked after repeated failures');
  }

  /** A successful login or password reset forgives the account's failures (not the address's). */
  async clearAccount(email: string): Promise<void> {
    await this.safely(() => this.redis.del(this.key('fail', 'acct', email), this.key('lock', 'acct', email)));
  }

  /** Counts an MFA attempt of a user; the sixth within a minute is refused. */
  async hitMfa(userId: string): Promise<void> {
    const result = await this.safely(() =>
      this.redis.hpAttempt(this.redisService.key('mfa', 'attempts', userId), 60_000),
    );
    if (!result) return;
    const [count, ttl] = result;
    if (count > MFA_ATTEMPTS_PER_MINUTE)
      throw new LockedOutError('mfa_rate_limited', Math.max(1, Math.ceil(ttl / 1000)));
  }

  /** Marks a single-use value (an MFA challenge) as spent; false if it already was. */
  async spend(kind: string, id: string, ttlSeconds: number): Promise<boolean> {
    const result = await this.safely(() =>
      this.redis.set(this.redisService.key('spent', kind, id), '1', 'EX', ttlSeconds, 'NX'),
    );
    return result === undefined ? true : result === 'OK';
  }

  private key(kind: 'fail' | 'lock', scope: 'acct' | 'ip', value: string): string {
    // The `{hash tag}` keeps a subject's counter and lock in one cluster slot: the failure script and `clearAccount`
    // touch both.
    return this.redisService.key('login', `{${scope}:${scope === 'acct' ? this.accountTag(value) : value}}`, kind);
  }

  /** Accounts are keyed by a digest of the email, so Redis holds no addresses. */
  private accountTag(email: string): string {
    return sha256Hex(email.trim().toLowerCase()).slice(0, 32);
  }

  private async safely<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.log.warn({ reason: (err as Error).message }, 'auth throttle unavailable (redis): not enforcing lockouts');
      }
      return undefined;
    }
  }
}
