/**
 * Issue 13, "Ended sessions stay ended": a session ended by its user from another browser (one,
 * or all others) or by the IdP (back-channel logout) leaves a tombstone, so the browser that held
 * it cannot come back silently through the IdP's single sign-on: its next login sends
 * `prompt=login` and `max_age=0`, and the dev IdP shows its password form. Ending a session also
 * revokes its refresh token (RFC 7009): the dev IdP's token endpoint refuses it. A session that
 * merely expired (no tombstone) still signs in silently. Then the same across two app instances
 * on one Redis: ended on one, the login on the other asks for the password.
 */
import test, { type ExecutionContext } from 'ava';
import got from 'got';
import { parse } from 'node-html-parser';
import type { RedisSessionStore } from 'koa-oidc-bff/stores/redis';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { CLIENT_ID, CLIENT_SECRET, GENEROUS, idpMetadata, startStack, type Stack } from '../helpers/stack.ts';
import { startInstance } from '../helpers/instance.ts';
import { idpSendsLogout } from '../helpers/tokens.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

const ALICE = 'a1b2c3d4-alice';

let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: GENEROUS });
});
test.after.always(() => stack?.close());

async function browser(appUrl: string, name: string): Promise<UserAgent> {
  const ua = new UserAgent(appUrl, { 'user-agent': `${name} Chrome/156.0` });
  await ua.login('alice', 'alice-password', '/');
  return ua;
}

/** The session id and refresh token `ua` holds now. */
async function held(s: Pick<Stack, 'store'>, ua: UserAgent): Promise<{ id: string; refreshToken: string }> {
  const id = (await ua.cookie('bff.sid'))!;
  const refreshToken = (await s.store.getTokens(id, Date.now()))?.refreshToken;
  if (typeof refreshToken !== 'string') throw new Error('no refresh token');
  return { id, refreshToken };
}

/** Whether the dev IdP's token endpoint still accepts `refreshToken`. */
async function refreshWorks(s: Pick<Stack, 'idp'>, refreshToken: string): Promise<boolean> {
  const answer = await got.post((await idpMetadata(s)).token_endpoint!, {
    form: { grant_type: 'refresh_token', refresh_token: refreshToken },
    username: CLIENT_ID, password: CLIENT_SECRET, throwHttpErrors: false, responseType: 'json',
  });
  return answer.statusCode === 200;
}

/**
 * Starts a login from `ua` the way the page does after a 401/302, and reports what the IdP did:
 * `'password'` when it shows its login form, `'silent'` when it answers with the form_post page.
 */
async function nextLogin(ua: UserAgent, appUrl = ua.appUrl): Promise<{ authorize: URL; idp: 'password' | 'silent'; page: Res }> {
  const start = await ua.http.get(`${appUrl}/login?returnTo=%2Fprofile`);
  if (start.statusCode !== 302) throw new Error(`/login answered ${start.statusCode}`);
  const authorize = new URL(start.headers.location!);
  const page = await ua.navigate(authorize.href);
  const password = parse(page.body).querySelector('input[name="password"]');
  return { authorize, idp: password ? 'password' : 'silent', page };
}

async function assertAskedForPassword(t: ExecutionContext, ua: UserAgent, appUrl = ua.appUrl): Promise<void> {
  const { authorize, idp, page } = await nextLogin(ua, appUrl);
  t.deepEqual(authorize.searchParams.get('prompt')?.split(' ').includes('login'), true, 'prompt=login sent');
  t.is(authorize.searchParams.get('max_age'), '0');
  t.is(idp, 'password', 'the IdP asks for the password instead of signing in silently');
  // The password given, the login completes (auth_time is fresh for max_age=0) and works.
  const form = await ua.submitCredentials(page, 'alice', 'alice-password');
  const callback = await ua.postCallback({ ...form, action: `${appUrl}/callback` });
  t.is(callback.statusCode, 303, callback.body.slice(0, 300));
  t.is((await ua.http.get(`${appUrl}/profile`)).statusCode, 200, 'logged in again');
}

/** Submits a form of the sessions page of `by` (POST `path` with its CSRF token). */
async function endFrom(by: UserAgent, path: string): Promise<Res> {
  const page = await by.navigate('/sessions');
  const csrf = readForm(page.body, 'form[action="/logout"]').fields._csrf!;
  return by.http.post(by.url(path), { form: { _csrf: csrf }, headers: { origin: new URL(by.appUrl).origin } });
}

test.serial('a session ended from another browser: its refresh token is revoked and its next login asks for the password', async (t) => {
  const laptop = await browser(stack.appUrl, 'laptop');
  const phone = await browser(stack.appUrl, 'phone');
  const { refreshToken } = await held(stack, phone);
  // (Not tried beforehand: the dev IdP rotates refresh tokens, so a try would spend it.)
  const rows = parse((await laptop.navigate('/sessions')).body).querySelectorAll('#sessions tbody tr');
  const phoneRef = rows.find((r) => r.getAttribute('data-current') !== 'true')!.getAttribute('data-session')!;

  t.regex(parse((await laptop.navigate('/sessions')).body).querySelector('#sessions p')?.text ?? '', /will need to sign in again/, 'the sessions page says so');
  t.is((await endFrom(laptop, `/sessions/${phoneRef}/end`)).statusCode, 303);
  t.false(await refreshWorks(stack, refreshToken), 'the ended session\'s refresh token is revoked at the IdP');

  // The phone's next click: sent to log in, its cookie kept so the login knows the session was ended.
  const click = await phone.http.get(phone.url('/profile'), { headers: { accept: 'text/html' } });
  t.is(click.statusCode, 302);
  t.is(click.headers.location, '/login?returnTo=%2Fprofile');
  t.truthy(await phone.cookie('bff.sid'), 'the cookie naming the ended session is not cleared');
  await assertAskedForPassword(t, phone);
  t.is((await laptop.http.get(laptop.url('/profile'))).statusCode, 200, 'the laptop is untouched');
});

test.serial('a session that merely expired (no tombstone) signs in again silently through the IdP', async (t) => {
  const ua = await browser(stack.appUrl, 'tablet');
  await stack.store.destroy((await ua.cookie('bff.sid'))!);
  const { authorize, idp } = await nextLogin(ua);
  t.is(authorize.searchParams.get('prompt'), null);
  t.is(authorize.searchParams.get('max_age'), null);
  t.is(idp, 'silent');
});

test.serial('"end all other sessions" and back-channel logout leave tombstones and revoke too', async (t) => {
  const laptop = await browser(stack.appUrl, 'laptop');
  const phone = await browser(stack.appUrl, 'phone');
  const tablet = await browser(stack.appUrl, 'tablet');
  const tokens = [await held(stack, phone), await held(stack, tablet)];
  t.is((await endFrom(laptop, '/sessions/end-others')).statusCode, 303);
  for (const { refreshToken } of tokens) t.false(await refreshWorks(stack, refreshToken));
  await assertAskedForPassword(t, phone);
  await assertAskedForPassword(t, tablet);

  // The IdP ends the user's sessions (Back-Channel Logout): same for the laptop.
  const { refreshToken } = await held(stack, laptop);
  await idpSendsLogout(stack, ALICE);
  t.is((await laptop.http.get(laptop.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 401);
  t.false(await refreshWorks(stack, refreshToken));
  await assertAskedForPassword(t, laptop);
});

const url = redisUrlOrSkip(test, 'redis: ended sessions across instances');
if (url) {
  const prefix = uniquePrefix('tombstones');
  const stores: RedisSessionStore[] = [];
  test.after.always(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await deleteKeys(url, prefix);
  });

  test.serial('two instances on one Redis: ended on one, the login on the other asks for the password', async (t) => {
    const [storeA, storeB] = [await testRedisStore(url, prefix), await testRedisStore(url, prefix)];
    stores.push(storeA, storeB);
    const a = await startStack({ env: { ...GENEROUS, SESSION_STORE: 'redis', REDIS_URL: url }, store: storeA });
    t.teardown(() => a.close());
    const b = await startInstance({ ...a, store: storeB });
    t.teardown(() => b.close());
    const laptop = await browser(a.appUrl, 'laptop');
    const phone = await browser(a.appUrl, 'phone');
    const { refreshToken } = await held(a, phone);
    const ref = parse((await laptop.navigate('/sessions')).body).querySelectorAll('#sessions tbody tr').find((r) => r.getAttribute('data-current') !== 'true')!.getAttribute('data-session')!;
    t.is((await endFrom(laptop, `/sessions/${ref}/end`)).statusCode, 303);
    t.false(await refreshWorks(a, refreshToken));
    await assertAskedForPassword(t, phone, b.url);
  });
}
