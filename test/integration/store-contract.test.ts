/** The store contract (store-contract.ts) run against each store: memory, SQLite (temp file) and Redis (REDIS_URL, own key prefix). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { createSqliteStore } from 'koa-oidc-bff/stores/sqlite';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { storeContract } from 'koa-oidc-bff/testing';

// Short purge intervals: the contract checks that expired sessions are removed by the store itself.
storeContract('memory', async () => {
  const store = createMemoryStore(100);
  return { store, close: () => store.close() };
});

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
});

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
  });
}
