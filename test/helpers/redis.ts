/**
 * Redis for tests: `REDIS_URL` names it. Unset outside CI: the Redis tests are skipped with a
 * visible message. Unset under CI (`CI=true`): the run fails. Each run uses its own key prefix,
 * so parallel runs on one Redis never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import type { TestFn } from 'ava';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisSessionStore } from 'koa-oidc-bff/stores/redis';

/**
 * The Redis URL to test against, or undefined after registering a skipped test (outside CI) or
 * a failing one (CI) that says why.
 */
export function redisUrlOrSkip(test: TestFn<any>, what: string): string | undefined {
  const url = process.env.REDIS_URL;
  if (url) return url;
  if (process.env.CI === 'true') {
    test(`${what}: REDIS_URL is required under CI`, (t) => t.fail('REDIS_URL is not set; .ci/run starts a local Redis and sets it'));
  } else {
    console.warn(`[redis tests] ${what}: skipped because REDIS_URL is not set (e.g. REDIS_URL=redis://127.0.0.1:6379)`);
    test.skip(`${what}: skipped, REDIS_URL is not set`, () => undefined);
  }
  return undefined;
}

/** A key prefix unique to this run and purpose. */
export function uniquePrefix(label = 'run'): string {
  return `bff-test:${label}:${process.pid}-${randomBytes(4).toString('hex')}:`;
}

/** Deletes every key under `prefix` (after a test file). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A Redis store for tests of behaviour (not of outages): generous timeouts, because this 2-core
 * machine often runs several test suites at once and a stalled event loop must not read as a
 * Redis outage. The outage test uses the production defaults.
 */
export function testRedisStore(url: string, prefix: string): Promise<RedisSessionStore> {
  return createRedisStore(url, { prefix, timeoutMs: 5000, startupWaitMs: 15_000 });
}
