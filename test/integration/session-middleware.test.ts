/**
 * The session middleware over each real store, in a small Koa app whose routes write the session
 * the way later features do (token refresh, flags): concurrent requests of one session never lose
 * each other's updates nor resurrect a destroyed session; anonymous traffic stores nothing; a
 * store that fails while saving gives a 503 and the process carries on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import got from 'got';
import Koa from 'koa';
import { CookieJar } from 'tough-cookie';
import { AppError } from 'koa-oidc-bff';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { endSession } from '../../packages/koa-oidc-bff/src/session/user-session.ts';
import { CookieSigner } from '../../packages/koa-oidc-bff/src/session/cookie-signature.ts';
import { leanSession, markSessionCreation, sessionMiddleware } from '../../packages/koa-oidc-bff/src/session/session-middleware.ts';
import { createSqliteStore } from 'koa-oidc-bff/stores/sqlite';
import { StoreUnavailableError } from 'koa-oidc-bff';
import type { SessionStore } from 'koa-oidc-bff';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';

type Session = Record<string, unknown> | null;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Koa app with the session middleware over `store` and routes that write the session. */
async function miniApp(store: SessionStore) {
  const koa = new Koa();
  koa.silent = true;
  koa.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      ctx.status = err instanceof AppError ? err.status : 500;
      ctx.body = { error: err instanceof AppError ? err.code : 'ERR_INTERNAL' };
    }
  });
  koa.use(sessionMiddleware({ store, cookieName: 'sid', signer: new CookieSigner(['mini-app-session-key-0123456789abcdef']), secure: false, idleTimeout: 3600, absoluteTimeout: 7200 }));
  koa.use(async (ctx) => {
    const session = (ctx as unknown as { session: Session }).session;
    const delay = Number(ctx.query.delay ?? 0);
    const [, action, key] = ctx.path.split('/');
    if (action === 'login') {
      markSessionCreation(ctx);
      Object.assign(session!, { user: { sub: 'mini-sub' }, counter: 0 });
    } else if (action === 'set') {
      await sleep(delay);
      if (session) session[key!] = String(ctx.query.value ?? key);
    } else if (action === 'end') {
      endSession(ctx);
    }
    // Safe methods take the lean path (no koa-session): its view of the session is leanSession(ctx).
    const lean = leanSession(ctx);
    ctx.body = { session: lean ? (lean.data ?? null) : ((ctx as unknown as { session: Session }).session ?? null), lean: Boolean(lean) };
  });
  const server = http.createServer(koa.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jar = new CookieJar();
  const client = got.extend({ prefixUrl: base, cookieJar: jar, throwHttpErrors: false, retry: { limit: 0 }, responseType: 'json' });
  return {
    client,
    async sessionId() {
      return (await jar.getCookies(base)).find((c) => c.key === 'sid')?.value;
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function middlewareTests(name: string, open: () => Promise<{ store: SessionStore; close(): Promise<void> }>): void {
  const withApp = (title: string, body: (t: import('ava').ExecutionContext, app: Awaited<ReturnType<typeof miniApp>>, store: SessionStore) => Promise<void>) =>
    test(`${name}: ${title}`, async (t) => {
      const { store, close } = await open();
      const app = await miniApp(store);
      try {
        await body(t, app, store);
      } finally {
        await app.close();
        await close();
      }
    });

  withApp('concurrent requests writing different keys of one session all keep their write', async (t, app, store) => {
    await app.client.post('login');
    const id = (await app.sessionId())!;
    // Each request loads the session before any of the others saves.
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k, i) => app.client.post(`set/${k}`, { searchParams: { delay: 50 + ((i * 37) % 100) } })));
    const data = (await store.get(id, Date.now()))!.data;
    for (const k of keys) t.is(data[k], k, `write of ${k} kept`);
    t.deepEqual(data.user, { sub: 'mini-sub' });
  });

  withApp('a write still in flight when the session is destroyed does not bring it back', async (t, app, store) => {
    await app.client.post('login');
    const id = (await app.sessionId())!;
    const slowWrite = app.client.post('set/late', { searchParams: { delay: 300 } });
    await sleep(50);
    t.is((await app.client.post('end')).statusCode, 200);
    t.is((await slowWrite).statusCode, 200);
    t.is(await store.get(id, Date.now()), undefined, 'resurrected by a late save');
    t.deepEqual(await store.listBySub('mini-sub', 0), []);
  });

  withApp('the lean path (GET) and koa-session (POST) read the same session, and neither writes on a read', async (t, app, store) => {
    await app.client.post('login');
    await app.client.post('set/colour', { searchParams: { value: 'blue' } });
    const id = (await app.sessionId())!;
    const before = await store.get(id, Date.now());
    const viaGet = await app.client.get('read');
    const viaPost = await app.client.post('read');
    t.deepEqual(viaGet.body, { session: { user: { sub: 'mini-sub' }, counter: 0, colour: 'blue' }, lean: true });
    t.deepEqual((viaPost.body as { session: unknown }).session, (viaGet.body as { session: unknown }).session);
    t.is(viaGet.headers['set-cookie'], undefined, 'no Set-Cookie on a read');
    t.is(viaPost.headers['set-cookie'], undefined, 'nor through koa-session');
    t.deepEqual(await store.get(id, Date.now()), before, 'the record is unchanged');
  });

  withApp('a GET that ends the session (lean path) destroys the record and clears both cookies, as a POST does', async (t, app, store) => {
    await app.client.post('login');
    const id = (await app.sessionId())!;
    const ended = await app.client.get('end');
    t.is(ended.statusCode, 200);
    t.is(await store.get(id, Date.now()), undefined);
    const cleared = (ended.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
    t.deepEqual(cleared.sort(), ['sid.sig=', 'sid=']);
    t.is(await app.sessionId(), undefined);
  });

  withApp('anonymous requests store nothing and get no cookie', async (t, app, store) => {
    const response = await app.client.post('set/anything');
    t.is(response.headers['set-cookie'], undefined);
    t.deepEqual(await store.listBySub('', 0), []);
    t.is(await app.sessionId(), undefined);
  });
}

middlewareTests('memory', async () => {
  const store = createMemoryStore();
  return { store, close: () => store.close() };
});
middlewareTests('sqlite', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-mw-'));
  const store = createSqliteStore(path.join(dir, 's.sqlite'));
  return { store, async close() { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
});
const redisUrl = redisUrlOrSkip(test, 'redis session middleware');
if (redisUrl) {
  middlewareTests('redis', async () => {
    const prefix = uniquePrefix('middleware');
    const store = await testRedisStore(redisUrl, prefix);
    return { store, async close() { await store.close(); await deleteKeys(redisUrl, prefix); } };
  });
}

/** Fault injection around a real store: the named methods reject as an unreachable backend would. */
function failing(inner: SessionStore, methods: Set<keyof SessionStore>): SessionStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (methods.has(prop as keyof SessionStore) ? Promise.reject(new StoreUnavailableError('test', new Error('injected'))) : value.apply(target, args));
    },
  });
}

test('a store failing to save an update answers 503 and the process carries on', async (t) => {
  const inner = createMemoryStore();
  const broken = new Set<keyof SessionStore>();
  const app = await miniApp(failing(inner, broken));
  try {
    await app.client.post('login');
    broken.add('update');
    const response = await app.client.post('set/x');
    t.is(response.statusCode, 503);
    t.deepEqual(response.body, { error: 'ERR_SESSION_STORE_UNAVAILABLE' });
    broken.clear();
    t.is((await app.client.post('set/y')).statusCode, 200, 'works again once the store does');
  } finally {
    await app.close();
    await inner.close();
  }
});

test('a store failing to record activity (touch) does not fail the request', async (t) => {
  const inner = createMemoryStore();
  const broken = new Set<keyof SessionStore>(['touch']);
  const app = await miniApp(failing(inner, broken));
  try {
    await app.client.post('login');
    const id = (await app.sessionId())!;
    // Make the next request due for a touch: the idle timeout is 3600 s, so a touch is due after 60 s.
    const record = (await inner.get(id, Date.now()))!;
    await inner.destroy(id);
    await inner.create({ ...record, lastSeenAt: record.lastSeenAt - 120_000 });
    const response = await app.client.post('set/z');
    t.is(response.statusCode, 200);
    t.is((await inner.get(id, Date.now()))!.data.z, 'z', 'the request did its work');
  } finally {
    await app.close();
    await inner.close();
  }
});
