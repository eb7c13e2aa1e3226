/**
 * Login transactions (issue 3, "Login transactions"): one encrypted SameSite=None; Secure cookie
 * per attempt keyed by `state`, several tabs at once, single use, 10-minute expiry (injected
 * clock), same-browser replay after success, one code redemption for simultaneous POSTs, and at
 * most 3 pending attempts per browser. Each test has its own dev-idp and app.
 */
import test, { type ExecutionContext } from 'ava';
import got from 'got';
import { Cookie } from 'tough-cookie';
import { assertLoginFailed, countingStore, setCookies } from '../helpers/login-assertions.ts';
import { CLIENT_ID, CLIENT_SECRET, GENEROUS, idpMetadata, startStack, type Stack, type StackOptions } from '../helpers/stack.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

async function stackFor(t: ExecutionContext, options: StackOptions = {}): Promise<Stack & { store: ReturnType<typeof countingStore> }> {
  const store = countingStore();
  const stack = await startStack({ ...options, store, env: { ...GENEROUS, ...options.env } });
  t.teardown(async () => {
    await stack.close();
    await store.close();
  });
  return Object.assign(stack, { store });
}

/** GET /login: the authorization URL, its `state`, and the Set-Cookie of the answer. */
async function startLogin(ua: UserAgent, returnTo = '/') {
  const res = await ua.http.get(ua.url(`/login?returnTo=${encodeURIComponent(returnTo)}`));
  const location = new URL(res.headers.location!);
  return { res, location, state: location.searchParams.get('state')! };
}

/** From the IdP's authorization URL to its form_post form (logging in, or at once with an IdP session). */
async function atIdp(ua: UserAgent, location: URL, username = 'alice', password = 'alice-password') {
  const page = await ua.navigate(location.href);
  const form = readForm(page.body);
  return form.action.endsWith('/callback') ? form : ua.submitCredentials(page, username, password);
}

const txCookies = async (ua: UserAgent) => (await ua.jar.getCookies(ua.appUrl)).filter((c) => c.key.startsWith('bff.tx.'));
const sessionOf = async (stack: Stack, ua: UserAgent) => { const id = (await ua.cookie('bff.sid')) ?? ''; const record = await stack.store.get(id, Date.now()); return record && { ...record, data: { ...record.data, ...(await stack.store.getTokens(id, Date.now())) } }; };

test('the transaction cookie is bff.tx.<state>: encrypted, HttpOnly, SameSite=None, Secure, 10 minutes; tough-cookie keeps it on http://localhost', async (t) => {
  const stack = await stackFor(t);
  const ua = new UserAgent(stack.appUrl);
  const { res, location, state } = await startLogin(ua, '/profile');
  t.is(res.statusCode, 302);
  t.regex(String(res.headers['cache-control']), /no-store/);
  const cookie = setCookies(res).map((h) => Cookie.parse(h)!).find((c) => c.key === `bff.tx.${state}`);
  t.truthy(cookie, 'named after the state');
  // SameSite=None; Secure: the form_post callback is a cross-site POST (RFC 6265bis 5.6.7.1).
  t.is(cookie?.sameSite, 'none');
  t.true(cookie?.secure);
  t.true(cookie?.httpOnly);
  t.is(cookie?.path, '/');
  const lifetime = ((cookie?.expires as Date).getTime() - Date.now()) / 1000;
  t.true(lifetime > 500 && lifetime <= 600, `expires in 10 minutes, got ${lifetime} s`);
  // A compact JWE: nothing of the transaction readable.
  t.is(cookie?.value.split('.').length, 5);
  for (const secret of [location.searchParams.get('nonce')!, '/profile', 'profile']) t.false(Buffer.from(cookie!.value.split('.')[1]!, 'base64url').toString('latin1').includes(secret));
  t.false(cookie!.value.includes(location.searchParams.get('nonce')!));
  // The jar stores Secure cookies for http://localhost (as Chromium does) and sends them back.
  const kept = await txCookies(ua);
  t.deepEqual(kept.map((c) => [c.key, c.secure]), [[`bff.tx.${state}`, true]]);
  t.regex(await ua.jar.getCookieString(`${stack.appUrl}/callback`), new RegExp(`bff\\.tx\\.${state}=`));
  // Nothing is stored on the server for a login that has not finished.
  t.is(stack.store.created, 0);
});

test('with the IdP on another site (127.0.0.1) than the app (localhost) the login completes over HTTP', async (t) => {
  // The browser half of this (SameSite) is proven by the e2e suite: tough-cookie ignores SameSite.
  const stack = await stackFor(t, { idpHost: '127.0.0.1' });
  t.regex(stack.idp.issuer, /^http:\/\/127\.0\.0\.1:/);
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
  const callback = await ua.postCallback(form, new URL(stack.idp.issuer).origin);
  t.is(callback.statusCode, 303);
  t.is(callback.headers.location, '/profile');
  t.regex((await ua.navigate('/profile')).body, /alice@example\.test/);
});

test('two tabs that start a login at the same time both finish it, in either order', async (t) => {
  const stack = await stackFor(t);
  const ua = new UserAgent(stack.appUrl);
  const tabA = await startLogin(ua, '/profile');
  const tabB = await startLogin(ua, '/');
  t.not(tabA.state, tabB.state);
  t.is((await txCookies(ua)).length, 2);
  const formA = await atIdp(ua, tabA.location);
  const formB = await atIdp(ua, tabB.location);
  const callbackB = await ua.postCallback(formB);
  t.is(callbackB.statusCode, 303, callbackB.body.slice(0, 300));
  t.is(callbackB.headers.location, '/');
  const callbackA = await ua.postCallback(formA);
  t.is(callbackA.statusCode, 303, callbackA.body.slice(0, 300));
  t.is(callbackA.headers.location, '/profile');
  t.is((await ua.navigate('/profile')).statusCode, 200);
  t.is((await txCookies(ua)).length, 0, 'both transactions consumed');
  t.is(stack.logs().filter((l) => l.event === 'login.failed').length, 0);
});

test('a transaction is single-use: the same callback with a copy of its cookie fails with ERR_LOGIN_STATE_USED', async (t) => {
  const stack = await stackFor(t);
  const ua = new UserAgent(stack.appUrl);
  const { state, location } = await startLogin(ua);
  const stolen = (await txCookies(ua)).find((c) => c.key === `bff.tx.${state}`)!;
  const form = await atIdp(ua, location);
  t.is((await ua.postCallback(form)).statusCode, 303);
  // An attacker who captured both the form_post and the transaction cookie replays them.
  const attacker = new UserAgent(stack.appUrl);
  await attacker.jar.setCookie(stolen.cookieString(), stack.appUrl);
  const replay = await attacker.postCallback(form);
  await assertLoginFailed(t, stack, attacker, replay, { code: 'ERR_LOGIN_STATE_USED', sessionsBefore: 1, secrets: [form.fields.code!, state] });
  t.is(stack.idp.stats.authorizationCodeRequests, 1, 'the code was not sent again');
});

test('the same callback POST from another browser fails (ERR_LOGIN_STATE_UNKNOWN); from the same browser it lands on the page with the session unchanged', async (t) => {
  const stack = await stackFor(t);
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
  const first = await ua.postCallback(form);
  t.is(first.statusCode, 303);
  const cookieBefore = await ua.jar.getCookieString(stack.appUrl);
  const recordBefore = await sessionOf(stack, ua);

  // Back button or a resent form: the same browser posts the same callback again.
  const again = await ua.postCallback(form);
  t.is(again.statusCode, 303);
  t.is(again.headers.location, '/profile');
  t.false(setCookies(again).some((h) => h.startsWith('bff.sid')), 'no new session cookie');
  t.is(await ua.jar.getCookieString(stack.appUrl), cookieBefore, 'same cookies');
  t.deepEqual(await sessionOf(stack, ua), recordBefore, 'same session data');
  t.is(stack.store.created, 1);
  t.is(stack.idp.stats.authorizationCodeRequests, 1);
  t.is((await ua.navigate('/profile')).statusCode, 200);

  const other = new UserAgent(stack.appUrl);
  const replay = await other.postCallback(form);
  await assertLoginFailed(t, stack, other, replay, { code: 'ERR_LOGIN_STATE_UNKNOWN', sessionsBefore: 1, secrets: [form.fields.code!, form.fields.state!] });
});

test('a transaction expires after 10 minutes (ERR_LOGIN_STATE_EXPIRED) and the code is never redeemed', async (t) => {
  let offset = 0;
  const stack = await stackFor(t, { now: () => Date.now() + offset });
  const late = new UserAgent(stack.appUrl);
  const form = await late.loginUntilCallback('alice', 'alice-password');
  offset = 10 * 60 * 1000 + 1500;
  const res = await late.postCallback(form);
  await assertLoginFailed(t, stack, late, res, { code: 'ERR_LOGIN_STATE_EXPIRED', secrets: [form.fields.code!, form.fields.state!] });
  t.is(stack.idp.stats.authorizationCodeRequests, 0);

  offset = 0;
  const inTime = new UserAgent(stack.appUrl);
  const form2 = await inTime.loginUntilCallback('alice', 'alice-password');
  offset = 9 * 60 * 1000 + 50_000;
  t.is((await inTime.postCallback(form2)).statusCode, 303, 'still valid just before 10 minutes');
});

test('two identical callback POSTs at the same moment redeem the code once; the winner\'s grant is not revoked', async (t) => {
  const stack = await stackFor(t);
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password');
  const answers: Res[] = await Promise.all([ua.postCallback(form), ua.postCallback(form)]);
  const statuses = answers.map((r) => r.statusCode).sort();
  t.deepEqual(statuses, [303, 400]);
  const loser = answers.find((r) => r.statusCode === 400)!;
  t.regex(loser.body, /data-code="ERR_LOGIN_STATE_USED"/);
  t.is(stack.idp.stats.tokenRequests, 1, 'one token request');
  t.is(stack.idp.stats.authorizationCodeRequests, 1, 'the code went to the token endpoint once');
  t.is(stack.store.created, 1);

  // oidc-provider revokes every token of a grant whose code is redeemed twice: prove it did not.
  const session = await sessionOf(stack, ua);
  t.truthy(session, 'the winner\'s session cookie is in the browser');
  const metadata = await idpMetadata(stack);
  const userinfo = await got.get(metadata.userinfo_endpoint!, { headers: { authorization: `Bearer ${String(session!.data.accessToken)}` }, throwHttpErrors: false });
  t.is(userinfo.statusCode, 200, 'the access token still works');
  const refresh = await got.post(metadata.token_endpoint!, {
    form: { grant_type: 'refresh_token', refresh_token: String(session!.data.refreshToken) },
    username: CLIENT_ID, password: CLIENT_SECRET, throwHttpErrors: false,
  });
  t.is(refresh.statusCode, 200, `the refresh token still works: ${refresh.body}`);
  t.is((await ua.navigate('/profile')).statusCode, 200);
});

test('at most 3 pending logins per browser: the oldest is dropped and the Cookie header stops growing', async (t) => {
  const stack = await stackFor(t);
  const ua = new UserAgent(stack.appUrl);
  const states: string[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < 8; i++) {
    states.push((await startLogin(ua)).state);
    lengths.push((await ua.jar.getCookieString(stack.appUrl)).length);
  }
  t.deepEqual((await txCookies(ua)).map((c) => c.key.slice('bff.tx.'.length)).sort(), states.slice(-3).sort(), 'the three newest remain');
  t.true(lengths.slice(3).every((n) => n === lengths[2]), `Cookie header length after each click: ${lengths.join(', ')}`);
});

test('a callback without state, with an unknown, malformed or repeated state, or with a forged or swapped cookie fails safely', async (t) => {
  const cases: [string, (ua: UserAgent, stack: Stack) => Promise<Res>, string][] = [
    ['no state', (ua) => ua.http.post(ua.url('/callback'), { form: { code: 'abc' }, headers: { origin: 'null' } }), 'ERR_LOGIN_STATE_MISSING'],
    ['unknown state', (ua) => ua.http.post(ua.url('/callback'), { form: { code: 'abc', state: 'A'.repeat(43) }, headers: { origin: 'null' } }), 'ERR_LOGIN_STATE_UNKNOWN'],
    ['malformed state', (ua) => ua.http.post(ua.url('/callback'), { form: { code: 'abc', state: '../<x>' }, headers: { origin: 'null' } }), 'ERR_LOGIN_STATE_UNKNOWN'],
    ['repeated state', (ua) => ua.http.post(ua.url('/callback'), { body: 'code=abc&state=a&state=b', headers: { origin: 'null', 'content-type': 'application/x-www-form-urlencoded' } }), 'ERR_LOGIN_BAD_REQUEST'],
    ['forged transaction cookie', async (ua) => {
      const state = 'B'.repeat(43);
      await ua.jar.setCookie(`bff.tx.${state}=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.BBBB.CCCC; Path=/`, ua.appUrl);
      return ua.http.post(ua.url('/callback'), { form: { code: 'abc', state }, headers: { origin: 'null' } });
    }, 'ERR_LOGIN_STATE_UNKNOWN'],
    ['the cookie of one login under the name of another', async (ua) => {
      const a = await startLogin(ua);
      const b = await startLogin(ua);
      const cookieA = (await txCookies(ua)).find((c) => c.key === `bff.tx.${a.state}`)!;
      await ua.jar.setCookie(`bff.tx.${b.state}=${cookieA.value}; Path=/`, ua.appUrl);
      return ua.http.post(ua.url('/callback'), { form: { code: 'abc', state: b.state }, headers: { origin: 'null' } });
    }, 'ERR_LOGIN_STATE_UNKNOWN'],
  ];
  for (const [name, send, code] of cases) {
    const stack = await stackFor(t);
    const ua = new UserAgent(stack.appUrl);
    const res = await send(ua, stack);
    t.log(name);
    await assertLoginFailed(t, stack, ua, res, { code });
    t.is(stack.idp.stats.tokenRequests, 0, `${name}: nothing sent to the IdP`);
  }
});
