/**
 * Starting logins is rate-limited (rate-limiter-flexible): per client IP (as the trusted proxy
 * reports it) and per instance. Beyond a limit `GET /login` answers 429 with Retry-After and a
 * page (the demo's own look, through the package's render hook) that says how long to wait;
 * htmx and JSON clients get a 429 with Retry-After too; no login transaction is created. When
 * sessions are in Redis, the per-IP count is shared by every instance.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { parse } from 'node-html-parser';
import { startInstance } from '../helpers/instance.ts';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { startStack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const setCookies = (headers: Record<string, unknown>) => ([] as string[]).concat((headers['set-cookie'] as string[] | undefined) ?? []);
const url = redisUrlOrSkip(test, 'redis: the per-IP login limit shared by two instances');

test('per client IP behind the trusted proxy: over the limit 429 with Retry-After and a page saying to wait; other addresses unaffected', async (t) => {
  const stack = await startStack({ env: { TRUST_PROXY: '1', LOGIN_RATE_LIMIT_PER_IP: '3' } });
  t.teardown(() => stack.close());
  const office = new UserAgent(stack.appUrl, { 'x-forwarded-for': '203.0.113.7' });
  for (let i = 0; i < 3; i++) t.is((await office.http.get(office.url('/login?returnTo=%2Fprofile'))).statusCode, 302, `login ${i + 1}`);

  const page = await office.http.get(office.url('/login?returnTo=%2Fprofile'));
  t.is(page.statusCode, 429);
  const wait = Number(page.headers['retry-after']);
  t.true(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
  t.regex(page.headers['content-type'] ?? '', /text\/html/);
  const card = parse(page.body).querySelector('[data-testid=error]');
  t.is(card?.getAttribute('data-code'), 'ERR_LOGIN_RATE_LIMITED', 'the demo\'s error page');
  t.regex(card?.text ?? '', /Too many logins/);
  t.regex(card?.text ?? '', /Please wait (a second|\d+ seconds), then try again/);
  t.is(page.headers.location, undefined);
  t.false(setCookies(page.headers).some((c) => c.startsWith('bff.tx.')), 'no transaction');

  const hx = await office.hx('/login?returnTo=%2Fprofile', '/profile');
  t.is(hx.statusCode, 429, 'htmx');
  t.true(Number(hx.headers['retry-after']) >= 1);
  t.is(hx.headers['hx-redirect'], undefined);
  t.false(hx.body.includes('<html'), 'a fragment');
  const json = await office.http.get(office.url('/login'), { headers: { accept: 'application/json' } });
  t.is(json.statusCode, 429, 'JSON');
  t.true(Number(json.headers['retry-after']) >= 1);
  t.is(JSON.parse(json.body).error, 'ERR_LOGIN_RATE_LIMITED');

  const elsewhere = new UserAgent(stack.appUrl, { 'x-forwarded-for': '198.51.100.20' });
  t.is((await elsewhere.http.get(elsewhere.url('/login'))).statusCode, 302, 'another client address is not held back');
  t.true(stack.logs().some((l) => l.event === 'login.failed' && l.reason === 'ERR_LOGIN_RATE_LIMITED' && l.detail === 'per-IP login limit'));
});

test('per instance: over the limit and back once Retry-After has passed', async (t) => {
  const stack = await startStack({ env: { LOGIN_RATE_LIMIT_PER_INSTANCE: '2' } });
  t.teardown(() => stack.close());
  const clients = Array.from({ length: 3 }, (_, i) => new UserAgent(stack.appUrl, { 'x-forwarded-for': `192.0.2.${i + 1}` }));
  const answers = await Promise.all(clients.map((c) => c.http.get(c.url('/login'))));
  const refused = answers.filter((a) => a.statusCode === 429);
  t.deepEqual(answers.map((a) => a.statusCode).sort(), [302, 302, 429], 'two per second, whoever asks');
  const wait = Number(refused[0]!.headers['retry-after']);
  t.is(wait, 1);
  await sleep(wait * 1000 + 200);
  const again = await clients[0]!.http.get(clients[0]!.url('/login'));
  t.is(again.statusCode, 302, 'back to normal');
  t.true(setCookies(again.headers).some((c) => c.startsWith('bff.tx.')));
  // The whole login still works from there.
  t.is((await new UserAgent(stack.appUrl).login('alice', 'alice-password')).statusCode, 200);
});

if (url) {
  const prefix = uniquePrefix('login-limit');
  test.after.always(() => deleteKeys(url, prefix));

  test('with sessions in Redis, the per-IP count is shared by the instances', async (t) => {
    const store = await testRedisStore(url, prefix);
    const a = await startStack({ env: { SESSION_STORE: 'redis', REDIS_URL: url, LOGIN_RATE_LIMIT_PER_IP: '3' }, store });
    const b = await startInstance(a);
    t.teardown(async () => { await b.close(); await a.close(); await store.close(); });
    const ua = new UserAgent(a.appUrl);
    t.is((await ua.http.get(`${a.appUrl}/login`)).statusCode, 302);
    t.is((await ua.http.get(`${a.appUrl}/login`)).statusCode, 302);
    t.is((await ua.http.get(`${b.url}/login`)).statusCode, 302);
    t.is((await ua.http.get(`${b.url}/login`)).statusCode, 429, 'the fourth, on the other instance');
    t.is((await ua.http.get(`${a.appUrl}/login`)).statusCode, 429);
  });
}
