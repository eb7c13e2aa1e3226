/**
 * Several app instances sharing one real Redis (REDIS_URL), each with its own connection as
 * separate processes would have: a session started on one is used on another and ended on a
 * third, and a session ended from "Your sessions" on one instance is dead on the other at once.
 */
import test from 'ava';
import got from 'got';
import { parse } from 'node-html-parser';
import type { RedisSessionStore } from 'koa-oidc-bff/stores/redis';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

const url = redisUrlOrSkip(test, 'redis: several app instances');

const json = { 'x-csrf': '1', accept: 'application/json' };

/** Starts `count` app instances on their own ports, one Redis connection each, sharing `prefix`. */
async function instances(redisUrl: string, prefix: string, count: number): Promise<{ apps: Stack[]; stores: RedisSessionStore[]; close(): Promise<void> }> {
  const stores = await Promise.all(Array.from({ length: count }, () => testRedisStore(redisUrl, prefix)));
  const apps = await Promise.all(stores.map((store) => startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: redisUrl }, store })));
  return {
    apps,
    stores,
    async close() {
      await Promise.all(apps.map((a) => a.close()));
      await Promise.all(stores.map((s) => s.close()));
    },
  };
}

if (url) {
  const prefix = uniquePrefix('instances');
  test.after.always(() => deleteKeys(url, prefix));

  test('log in on one instance, call the API on another, log out on a third: gone on all', async (t) => {
    const { apps: [a, b, c], stores, close } = await instances(url, prefix, 3);
    try {
      t.not(a!.appUrl, b!.appUrl);
      const browser = new UserAgent(a!.appUrl);
      await browser.login('alice', 'alice-password', '/');
      const id = (await browser.cookie('bff.sid'))!;
      // Kept to replay after the logout (which clears the jar), as a stale tab or a stolen cookie would.
      const cookieHeader = await browser.jar.getCookieString(a!.appUrl);
      const withOldCookie = (app: Stack) => got.get(`${app.appUrl}/api/session`, { headers: { ...json, cookie: cookieHeader }, throwHttpErrors: false, retry: { limit: 0 } });
      t.is((await withOldCookie(c!)).statusCode, 200, 'the replayed cookie works before the logout');
      // The cookie jar sends the localhost cookie to every port, as a browser behind a load balancer would to every instance.
      const onB = await browser.http.get(`${b!.appUrl}/api/hello`, { headers: json });
      t.is(onB.statusCode, 200);
      t.regex(JSON.parse(onB.body).message, /Alice Example/);

      const home = await browser.http.get(`${c!.appUrl}/`);
      const logout = readForm(home.body, 'form[action="/logout"]');
      const out = await browser.http.post(`${c!.appUrl}/logout`, { form: logout.fields, headers: { origin: c!.appUrl } });
      t.is(out.statusCode, 303);

      for (const [name, app] of [['first', a!], ['second', b!], ['third', c!]] as const) {
        t.is((await withOldCookie(app)).statusCode, 401, `${name} instance`);
      }
      t.is(await stores[0]!.client.exists(`${prefix}s:${id}`), 0, 'nothing left in Redis');
    } finally {
      await close();
    }
  });

  test('a session ended from "Your sessions" on one instance is dead on the other at once', async (t) => {
    const { apps: [a, b], close } = await instances(url, prefix, 2);
    try {
      const laptop = new UserAgent(a!.appUrl, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36' });
      const phone = new UserAgent(a!.appUrl, { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' });
      await laptop.login('bob', 'bob-password', '/');
      await phone.login('bob', 'bob-password', '/');
      t.is((await phone.http.get(`${a!.appUrl}/api/hello`, { headers: json })).statusCode, 200);

      const page = await laptop.http.get(`${b!.appUrl}/sessions`);
      t.is(page.statusCode, 200, 'the other instance lists the sessions');
      const row = parse(page.body).querySelectorAll('#sessions tbody tr').find((tr) => tr.text.includes('iOS'))!;
      const form = readForm(row.toString());
      const ended = await laptop.http.post(`${b!.appUrl}${form.action}`, { form: form.fields, headers: { origin: b!.appUrl } });
      t.is(ended.statusCode, 303);

      const hx = await phone.http.get(`${a!.appUrl}/api/hello`, { headers: { 'hx-request': 'true', 'hx-current-url': `${a!.appUrl}/profile` } });
      t.is(hx.statusCode, 401, 'dead on the first instance');
      t.is(hx.headers['hx-redirect'], '/login?returnTo=%2Fprofile');
      t.is((await laptop.http.get(`${a!.appUrl}/api/hello`, { headers: json })).statusCode, 200, 'the laptop session lives on');
    } finally {
      await close();
    }
  });
}
