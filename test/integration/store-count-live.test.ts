/** countLive (the bff_sessions_active gauge): live sessions only, in each store. */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import test from 'ava';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { createSqliteStore } from 'koa-oidc-bff/stores/sqlite';
import { sampleRecord } from 'koa-oidc-bff/testing';
import type { SessionStore } from 'koa-oidc-bff';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';

const url = redisUrlOrSkip(test, 'redis countLive');

async function counts(t: import('ava').ExecutionContext, store: SessionStore): Promise<void> {
  const now = Date.now();
  t.is(await store.countLive!(now), 0);
  await store.create(sampleRecord({ id: 'count-live-a-0123456789abcdef', sub: 'a' }));
  await store.create(sampleRecord({ id: 'count-live-b-0123456789abcdef', sub: 'b' }));
  await store.create(sampleRecord({ id: 'count-live-c-0123456789abcdef', sub: 'c', idleExpiresAt: now - 1 }));
  // Redis expires a record by its TTL, which is at least 1 ms: let that millisecond pass.
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(await store.countLive!(now), 2, 'the expired one is not counted');
  await store.destroy('count-live-a-0123456789abcdef');
  t.is(await store.countLive!(now), 1);
}

test('memory', async (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  await counts(t, store);
});

test('sqlite', async (t) => {
  const store = createSqliteStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'bff-count-')), 'sessions.sqlite'));
  t.teardown(() => store.close());
  await counts(t, store);
});

if (url) {
  test('redis', async (t) => {
    const prefix = uniquePrefix('count-live');
    const store = await testRedisStore(url, prefix);
    t.teardown(async () => {
      await store.close();
      await deleteKeys(url, prefix);
    });
    await counts(t, store);
  });
}
