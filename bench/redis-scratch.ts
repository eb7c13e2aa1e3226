/**
 * The Redis database the benchmark may fill with a million sessions: a dedicated database index
 * (default 15) that must be empty when the run starts, so emptying it afterwards removes only
 * what the benchmark wrote. Never FLUSHALL; other databases on the shared Redis are not touched.
 */
import { Redis } from 'ioredis';

export const DEFAULT_BENCH_REDIS_URL = 'redis://127.0.0.1:6379/15';

/**
 * Checks that `url` answers and names an empty database.
 * @returns undefined when usable, else the reason it is not (unreachable, or holds keys).
 */
export async function checkScratchDb(url: string): Promise<string | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, enableOfflineQueue: false, retryStrategy: () => null });
  try {
    await redis.connect();
    const size = await redis.dbsize();
    if (size > 0) return `${url} holds ${size} keys; the benchmark needs an empty database of its own (set BENCH_REDIS_URL, e.g. redis://127.0.0.1:6379/14)`;
    return undefined;
  } catch (err) {
    return `Redis at ${url} is not reachable (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key of the scratch database, with SCAN + UNLINK in batches. Returns how many. */
export async function emptyScratchDb(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 5000);
      cursor = next;
      if (keys.length > 0) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  } finally {
    redis.disconnect();
  }
}
