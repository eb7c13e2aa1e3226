/**
 * The store contract (koa-oidc-bff/testing) run under ava against each store: memory, SQLite
 * (temp file) and Redis (REDIS_URL, own key prefix). The suite is runner-agnostic: it throws on
 * failure, and ava wants one assertion per test, hence `t.pass()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { createSqliteStore } from 'koa-oidc-bff/stores/sqlite';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { storeContract, type RegisterTest } from 'koa-oidc-bff/testing';

const register: RegisterTest = (title, fn) => test(title, async (t) => {
  await fn();
  t.pass();
});

// Short purge intervals: the contract checks that expired sessions are removed by the store itself.
storeContract('memory', async () => {
  const store = createMemoryStore(100);
  return { store, close: () => store.close() };
}, register);

storeContract('sqlite', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-sqlite-contract-'));
  const store = createSqliteStore(path.join(dir, 'sessions.sqlite'), { purgeIntervalMs: 100 });
  return {
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}, register);

const redisUrl = redisUrlOrSkip(test, 'redis store contract');
if (redisUrl) {
  storeContract('redis', async () => {
    const prefix = uniquePrefix('contract');
    const store = await testRedisStore(redisUrl, prefix);
    return {
      store,
      async close() {
        await store.close();
        await deleteKeys(redisUrl, prefix);
      },
    };
  }, register);
}
