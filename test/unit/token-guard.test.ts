/**
 * koa-session saves go through guardTokenWrites: a request that loaded its session before a
 * refresh must not write the old tokens back (the next refresh would spend a rotated refresh
 * token, and the IdP would revoke the grant).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { refreshLockKey } from '../../packages/koa-oidc-bff/src/tokens/refresh.ts';
import { guardTokenWrites } from '../../packages/koa-oidc-bff/src/tokens/token-guard.ts';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import type { SessionRecord } from 'koa-oidc-bff';

const OLD = { accessToken: 'at-1', refreshToken: 'rt-1', idToken: 'id-1', accessTokenExpiresAt: 1000 };
const NEW = { accessToken: 'at-2', refreshToken: 'rt-2', idToken: 'id-2', accessTokenExpiresAt: 2000 };

function record(data: Record<string, unknown>): SessionRecord {
  const now = Date.now();
  return { id: 'session-1', sub: 'alice', sid: 'sid-1', createdAt: now, lastSeenAt: now, idleExpiresAt: now + 60_000, absoluteExpiresAt: now + 60_000, userAgent: 'test', data };
}

test('a save with old tokens keeps the stored (newer) tokens and writes the other fields', async (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  await store.create(record({ user: { sub: 'alice' }, ...NEW }));
  const guarded = guardTokenWrites(store, 5, Date.now);

  t.true(await guarded.update('session-1', { user: { sub: 'alice' }, ...OLD, theme: 'dark' }));
  const data = (await store.get('session-1', Date.now()))!.data;
  t.like(data, { ...NEW, theme: 'dark' });
});

test('a token field absent from the store is not introduced by a save', async (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  await store.create(record({ user: { sub: 'alice' } }));
  await guardTokenWrites(store, 5, Date.now).update('session-1', { user: { sub: 'alice' }, accessToken: 'planted' });
  t.false('accessToken' in (await store.get('session-1', Date.now()))!.data);
});

test('a save waits for a refresh in progress (the refresh lock) and then keeps its tokens', async (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  await store.create(record({ user: { sub: 'alice' }, ...OLD }));
  const guarded = guardTokenWrites(store, 5, Date.now);

  // A refresher holds the lock, as in refresh.ts.
  const release = (await store.tryLock(refreshLockKey('session-1'), 60_000))!;
  let refreshed = false;
  const save = guarded.update('session-1', { user: { sub: 'alice' }, ...OLD, theme: 'dark' }).then((ok) => ({ ok, afterRefresh: refreshed }));
  await sleep(100);
  await store.update('session-1', { user: { sub: 'alice' }, ...NEW });
  refreshed = true;
  await release();

  t.deepEqual(await save, { ok: true, afterRefresh: true });
  t.like((await store.get('session-1', Date.now()))!.data, { ...NEW, theme: 'dark' });
});

test('a save never re-creates a destroyed session', async (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  t.false(await guardTokenWrites(store, 5, Date.now).update('gone', { user: { sub: 'alice' } }));
  t.is(await store.get('gone', Date.now()), undefined);
});

test('every other store method is the store\'s own', async (t) => {
  const store = createMemoryStore();
  t.teardown(() => store.close());
  const guarded = guardTokenWrites(store, 5, Date.now);
  t.is(guarded.kind, 'memory');
  await guarded.create(record({ user: { sub: 'alice' } }));
  t.is((await store.listBySub('alice', Date.now())).length, 1);
  t.true(await guarded.claimOnce('k', 10));
  t.false(await store.claimOnce('k', 10));
});

test('further update arguments (keys to remove) reach the store, less the token fields', async (t) => {
  const calls: unknown[][] = [];
  const store = createMemoryStore();
  t.teardown(() => store.close());
  await store.create(record({ user: { sub: 'alice' }, ...NEW }));
  const recording = new Proxy(store, {
    get(target, property) {
      if (property === 'update') return async (...args: unknown[]) => { calls.push(args); return true; };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const update = guardTokenWrites(recording, 5, Date.now).update as (id: string, data: Record<string, unknown>, remove: string[]) => Promise<boolean>;
  await update('session-1', { theme: 'dark' }, ['banner', 'refreshToken']);
  t.deepEqual(calls, [['session-1', { theme: 'dark', ...NEW }, ['banner']]]);
});
