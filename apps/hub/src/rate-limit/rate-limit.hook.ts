import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { RateLimitedError } from '../http/errors';
import { mapError, sendError } from '../http/exception.filter';
import type { RateLimitResult } from './rate-limiter';
import type { RateLimits } from './rate-limits';

/** Route config key: `@RouteConfig({ rateLimit: 'auth' })` puts a route in a stricter bucket. */
export type RateLimitBucket = 'default' | 'auth';

export const RATE_LIMIT_AUTH = { rateLimit: 'auth' satisfies RateLimitBucket };

/**
 * Every request (matched route or not) counts against its client's window before anything
 * else runs. If Redis is unreachable the limit fails open: availability over strictness, with
 * a warning in the log.
 */
export function registerRateLimit(app: FastifyInstance, limits: RateLimits): void {
  const { limiter, redis, config, failOpen } = limits;
  const { max, windowSeconds, authMax } = config.rateLimit;

  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    const bucket = ((req.routeOptions.config as { rateLimit?: RateLimitBucket } | undefined)?.rateLimit ??
      'default') as RateLimitBucket;
    let result: RateLimitResult;
    try {
      result = await limiter.hit(redis.key('rl', 'default', req.ip), max, windowSeconds);
      if (bucket === 'auth') {
        const strict = await limiter.hit(redis.key('rl', 'auth', req.ip), authMax, windowSeconds);
        if (!strict.allowed || strict.remaining < result.remaining) result = strict;
      }
    } catch (err) {
      failOpen(err);
      return;
    }
    reply.header('x-ratelimit-limit', result.limit);
    reply.header('x-ratelimit-remaining', result.remaining);
    reply.header('x-ratelimit-reset', result.resetAt);
    if (!result.allowed) {
      sendError(reply, mapError(new RateLimitedError(result.retryAfterSeconds)));
      return reply;
    }
  });
}

/**
 * WebSocket upgrades never pass Fastify's hooks, so the router asks this before accepting one:
 * the same client window as HTTP requests (the client address resolved with the same trusted
 * proxies), null when allowed or when Redis is down.
 */
export type UpgradeAdmission = (req: IncomingMessage) => Promise<RateLimitedError | null>;

export function upgradeAdmission({ limiter, redis, config, failOpen }: RateLimits): UpgradeAdmission {
  const trusted = config.http.trustProxy.length ? proxyAddr.compile(config.http.trustProxy) : () => false;
  return async (req) => {
    const ip = proxyAddr(req, trusted);
    try {
      const r = await limiter.hit(redis.key('rl', 'default', ip), config.rateLimit.max, config.rateLimit.windowSeconds);
      return r.allowed ? null : new RateLimitedError(r.retryAfterSeconds);
    } catch (err) {
      failOpen(err);
      return null;
    }
  };
}
