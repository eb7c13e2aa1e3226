/**
 * Concurrent requests of one session over real HTTP (the page fires several htmx calls at once),
 * each due to record activity in the store, racing a logout: the session stays destroyed, in
 * every store, and its cookie is dead afterwards.
 */
import test from 'ava';
import got from 'got';
import type { SessionStore } from 'koa-oidc-bff';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { startStack } from '../helpers/stack.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

function raceTest(name: string, setup: () => Promise<{ env: Record<string, string>; store?: SessionStore; cleanup?: () => Promise<void> }>): void {
  test(`${name}: htmx calls racing a logout never resurrect the session`, async (t) => {
    const { env, store, cleanup } = await setup();
    let frozen: number | undefined;
    const stack = await startStack({ env, now: () => frozen ?? Date.now(), ...(store ? { store } : {}) });
    try {
      for (let round = 0; round < 3; round++) {
        frozen = undefined;
        const browser = new UserAgent(stack.appUrl);
        await browser.login('alice', 'alice-password', '/');
        const cookieHeader = await browser.jar.getCookieString(stack.appUrl);
        const id = (await browser.cookie('bff.sid'))!;
        const logoutForm = readForm((await browser.navigate('/')).body, 'form[action="/logout"]').fields;
        // Two minutes later: every request is due to renew the idle timeout in the store (touch).
        frozen = Date.now() + 120_000;
        const calls = Array.from({ length: 20 }, (_, i) => (i === 5 + round * 5
          ? browser.http.post(browser.url('/logout'), { form: logoutForm, headers: { origin: new URL(stack.appUrl).origin } })
          : got.get(`${stack.appUrl}/api/hello`, { headers: { 'hx-request': 'true', cookie: cookieHeader }, throwHttpErrors: false, retry: { limit: 0 } })));
        const statuses = (await Promise.all(calls)).map((r) => r.statusCode);
        t.true(statuses.every((s) => s === 200 || s === 303 || s === 401), `round ${round}: ${statuses.join(',')}`);
        t.is(await stack.store.get(id, Date.now()), undefined, `round ${round}: session came back`);
        t.deepEqual(await stack.store.listBySub('a1b2c3d4-alice', 0).then((list) => list.filter((r) => r.id === id)), [], 'no partial record left');
        const after = await got.get(`${stack.appUrl}/api/session`, { headers: { 'x-csrf': '1', cookie: cookieHeader }, throwHttpErrors: false, retry: { limit: 0 } });
        t.is(after.statusCode, 401, `round ${round}: the old cookie is dead`);
      }
    } finally {
      await stack.close();
      await cleanup?.();
    }
  });
}

raceTest('memory', async () => ({ env: { SESSION_STORE: 'memory' } }));
raceTest('sqlite', async () => ({ env: { SESSION_STORE: 'sqlite' } }));
const redisUrl = redisUrlOrSkip(test, 'redis concurrency');
if (redisUrl) {
  raceTest('redis', async () => {
    const prefix = uniquePrefix('race');
    const store = await testRedisStore(redisUrl, prefix);
    return { env: { SESSION_STORE: 'redis', REDIS_URL: redisUrl }, store, cleanup: async () => { await store.close(); await deleteKeys(redisUrl, prefix); } };
  });
}
