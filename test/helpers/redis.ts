/**
 * Redis for tests: `REDIS_URL` names it; unset, the Redis on redis://127.0.0.1:6379 is used when it
 * answers a PING. Nothing answering outside CI: the Redis tests are skipped with a visible hint.
 * Nothing answering under CI (`CI=true`), or a REDIS_URL that does not answer: the run fails.
 * Each run uses its own key prefix, so parallel runs on one Redis never see each other's keys.
 */
import { randomBytes } from 'node:crypto';
import type { TestFn } from 'ava';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisSessionStore } from 'koa-oidc-bff/stores/redis';

/** The Redis the tests use when REDIS_URL is unset and it answers. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Why `url` does not answer a PING within `timeoutMs`, or undefined when it does. */
export async function redisProblem(url: string, timeoutMs: number): Promise<string | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null, // one attempt: a probe, not a client
  });
  let cause: Error | undefined; // the socket's error (ECONNREFUSED...); connect() only says "Connection is closed."
  redis.on('error', (err: Error) => { cause ??= err; });
  try {
    await redis.connect();
    const pong = await redis.ping();
    return pong === 'PONG' ? undefined : `PING answered ${JSON.stringify(pong)}`;
  } catch (err) {
    return (cause ?? (err as Error)).message || String(err);
  } finally {
    redis.disconnect();
  }
}

/**
 * Where the Redis tests of this process go, decided once per test file (when it imports this
 * module): `url` when a Redis answers, else `reason` and whether that fails the run.
 */
type RedisTarget = { url: string } | { url?: undefined; reason: string; fail: boolean };

async function resolveTarget(): Promise<RedisTarget> {
  const ci = process.env.CI === 'true';
  const explicit = process.env.REDIS_URL;
  if (explicit) {
    // Asked for by name: it must answer, in CI or not (generous, the machine may be busy).
    const problem = await redisProblem(explicit, 10_000);
    return problem ? { reason: `REDIS_URL=${explicit} does not answer a PING (${problem})`, fail: true } : { url: explicit };
  }
  const problem = await redisProblem(DEFAULT_REDIS_URL, ci ? 10_000 : 1500);
  if (!problem) return { url: DEFAULT_REDIS_URL };
  return ci
    ? { reason: `REDIS_URL is not set and nothing answers on ${DEFAULT_REDIS_URL} (${problem}); .ci/run starts a local Redis and sets it`, fail: true }
    : { reason: `REDIS_URL is not set and nothing answers on ${DEFAULT_REDIS_URL} (${problem}); start one (redis-server) or set REDIS_URL=redis://host:port`, fail: false };
}

const target = await resolveTarget();

/**
 * The Redis URL to test against (REDIS_URL, else redis://127.0.0.1:6379 when it answers), or
 * undefined after registering a skipped test (nothing answers, outside CI) or a failing one (CI,
 * or a REDIS_URL that does not answer) that says why.
 */
export function redisUrlOrSkip(test: TestFn<any>, what: string): string | undefined {
  if (target.url !== undefined) return target.url;
  if (target.fail) {
    test(`${what}: Redis is required${process.env.CI === 'true' ? ' under CI' : ''}`, (t) => t.fail(target.reason));
  } else {
    console.warn(`[redis tests] ${what}: skipped because ${target.reason}`);
    test.skip(`${what}: skipped, no Redis (set REDIS_URL or start redis-server on 127.0.0.1:6379)`, () => undefined);
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
