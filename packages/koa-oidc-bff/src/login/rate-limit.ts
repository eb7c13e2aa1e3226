/**
 * Bounds on starting logins (`GET /login`), with rate-limiter-flexible: each login start creates a
 * transaction and sends the browser to the IdP, so a bot looping on /login would load both. Two
 * limits: per client IP (`ctx.ip`, which honours `X-Forwarded-For` only when the host set
 * `app.proxy`), shared by every instance through Redis when a Redis client is given; and per
 * instance (in memory), whatever the IP.
 */
import type { RedisClientLike } from '../options.ts';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface LoginRateLimitOptions {
  /** Logins one client IP may start per minute (all instances together when `redis` is given). */
  perIpPerMinute: number;
  /** Logins one instance may start per second, all clients together. */
  perInstancePerSecond: number;
  /** ioredis client for the per-IP limit; without it the limit is per instance (memory). */
  redis: RedisClientLike | undefined;
  /** Prefix of the Redis keys (the session store's prefix, so tests and apps sharing a Redis stay apart). */
  keyPrefix: string;
}

/** What {@link LoginRateLimiter.consume} answers: allowed, or refused with the seconds to wait. */
export type LoginRateDecision = { allowed: true } | { allowed: false; retryAfter: number; limit: 'ip' | 'instance' };

/** The two login limits; one per BFF. */
export class LoginRateLimiter {
  readonly #perIp: RateLimiterAbstract;
  readonly #perInstance: RateLimiterMemory;

  constructor(options: LoginRateLimitOptions) {
    const perIp = { points: options.perIpPerMinute, duration: 60, keyPrefix: `${options.keyPrefix}login-ip` };
    // Redis down: each instance keeps counting on its own rather than refusing or admitting everyone.
    this.#perIp = options.redis
      ? new RateLimiterRedis({ ...perIp, storeClient: options.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(perIp) })
      : new RateLimiterMemory(perIp);
    this.#perInstance = new RateLimiterMemory({ points: options.perInstancePerSecond, duration: 1, keyPrefix: 'login-instance' });
  }

  /**
   * Counts one login start by `ip`.
   * @returns allowed, or refused with `retryAfter` (whole seconds, at least 1) and which limit refused it.
   */
  async consume(ip: string): Promise<LoginRateDecision> {
    try {
      await this.#perIp.consume(ip || 'unknown');
    } catch (err) {
      return refused(err, 'ip');
    }
    try {
      await this.#perInstance.consume('all');
    } catch (err) {
      return refused(err, 'instance');
    }
    return { allowed: true };
  }
}

function refused(err: unknown, limit: 'ip' | 'instance'): LoginRateDecision {
  if (!(err instanceof RateLimiterRes)) throw err;
  return { allowed: false, retryAfter: Math.max(1, Math.ceil(err.msBeforeNext / 1000)), limit };
}
