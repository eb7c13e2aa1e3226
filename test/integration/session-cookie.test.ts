/**
 * The session cookie and the session (issue 3, "Session cookie and session"): attributes, an
 * opaque signed id, a new id at every login (fixation), logout destroying the server-side
 * session, https BASE_URL behind a proxy (Secure, __Host-), and SESSION_SECRET rotation.
 */
import test from 'ava';
import got from 'got';
import { Cookie } from 'tough-cookie';
import { GENEROUS, listenFirst, SESSION_SECRET, startApp, startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';
import { setCookies } from '../helpers/login-assertions.ts';

let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: GENEROUS })
});
test.after.always(async () => {
  await stack?.close();
});

/** Cookies set by `res`, parsed, by name. */
function cookiesOf(res: Parameters<typeof setCookies>[0]): Map<string, Cookie> {
  return new Map(setCookies(res).map((h) => Cookie.parse(h)!).map((c) => [c.key, c]));
}

/** A request with exactly these cookies (no jar). */
function bare(url: string, cookie: string) {
  return got.get(url, { headers: { 'x-csrf': '1', cookie }, throwHttpErrors: false, followRedirect: false, retry: { limit: 0 } });
}

/** The user `GET /api/session` answers for these raw cookies, or the status when not 200. */
async function whoIs(ua: UserAgent, cookie: string): Promise<string | number> {
  const res = await bare(ua.url('/api/session'), cookie);
  return res.statusCode === 200 ? (JSON.parse(res.body) as { user: { sub: string } }).user.sub : res.statusCode;
}

/** The app's session cookies in `ua`'s jar, as a Cookie header (the dev-idp's cookies, same host, left out). */
async function cookieHeader(ua: UserAgent): Promise<string> {
  return (await ua.jar.getCookies(ua.appUrl)).filter((c) => c.key.startsWith('bff.sid')).map((c) => c.cookieString()).join('; ');
}

const ALICE = 'a1b2c3d4-alice';
const BOB = 'e5f6a7b8-bob';

test('the session cookie is HttpOnly, SameSite=Lax, Path=/, signed, and holds only an opaque id', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password');
  const callback = await ua.postCallback(form);
  const cookies = cookiesOf(callback);
  const sid = cookies.get('bff.sid');
  const sig = cookies.get('bff.sid.sig');
  t.truthy(sid);
  t.truthy(sig, 'signed (koa-session/keygrip .sig cookie)');
  for (const c of [sid!, sig!]) {
    t.true(c.httpOnly, `${c.key} HttpOnly`);
    t.is(c.sameSite, 'lax', `${c.key} SameSite=Lax`);
    t.is(c.path, '/', `${c.key} Path=/`);
    t.false(c.secure, `${c.key} not Secure on an http BASE_URL`);
    t.is(c.domain, null, `${c.key} host-only`);
  }
  // 192 random bits: nothing about the user, nothing decodable.
  t.regex(sid!.value, /^[A-Za-z0-9_-]{32}$/);
  const decoded = Buffer.from(sid!.value, 'base64url').toString('latin1');
  // (No single-character needle: 24 random bytes hold any given byte one time in eleven.)
  t.is(Buffer.from(sid!.value, 'base64url').length, 24);
  for (const needle of [ALICE, 'Alice', 'alice@example.test', '"sub"']) t.false(decoded.includes(needle) || sid!.value.includes(needle));
  const record = await stack.store.get(sid!.value, Date.now());
  t.is(record?.sub, ALICE, 'the id names a server-side record');
  const tokens = await stack.store.getTokens(sid!.value, Date.now());
  t.truthy(tokens?.accessToken, 'tokens live in the store');
  t.false(setCookies(callback).some((h) => h.includes(String(tokens?.accessToken))), 'and never in a cookie');
  t.is(record?.data.accessToken, undefined, 'not in the session record every request reads');

  t.is(await whoIs(ua, `bff.sid=${sid!.value}; bff.sid.sig=${sig!.value}`), ALICE);
  t.is(await whoIs(ua, `bff.sid=${sid!.value}`), 401, 'an unsigned id is ignored');
  const tampered = `${sid!.value.slice(0, -1)}${sid!.value.endsWith('A') ? 'B' : 'A'}`;
  t.is(await whoIs(ua, `bff.sid=${tampered}; bff.sid.sig=${sig!.value}`), 401, 'a tampered id is ignored');
});

test('a new session id at every login; nothing of the previous session carries over', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('bob', 'bob-password');
  const first = await ua.cookie('bff.sid');
  // Something the previous login's session held that the next login must not inherit.
  const record = await stack.store.get(first!, Date.now());
  await stack.store.update(first!, { ...record!.data, leftover: 'from the previous session' });
  await ua.login('bob', 'bob-password'); // silently, with the IdP's session
  const second = await ua.cookie('bff.sid');
  t.truthy(second);
  t.not(second, first);
  t.is(await stack.store.get(first!, Date.now()), undefined, 'the previous session is destroyed');
  const current = await stack.store.get(second!, Date.now());
  t.is(current?.sub, BOB);
  t.false('leftover' in (current?.data ?? {}), 'no field of the previous session survives');
  t.is(await whoIs(ua, await cookieHeader(ua)), BOB);
});

test('session fixation: a session cookie planted in the victim\'s browser is replaced at login', async (t) => {
  // The attacker logs in and plants their own (validly signed) session cookie in the victim's browser.
  const attacker = new UserAgent(stack.appUrl);
  await attacker.login('bob', 'bob-password');
  const planted = await cookieHeader(attacker);
  const victim = new UserAgent(stack.appUrl);
  for (const pair of planted.split('; ')) await victim.jar.setCookie(`${pair}; Path=/; HttpOnly`, stack.appUrl);
  t.is(await whoIs(victim, await cookieHeader(victim)), BOB, 'the planted cookie works before the login');
  await victim.login('alice', 'alice-password');
  t.not(await victim.cookie('bff.sid'), await attacker.cookie('bff.sid'));
  t.is(await whoIs(victim, await cookieHeader(victim)), ALICE);
  // The attacker's copy never becomes the victim's login.
  t.not(await whoIs(attacker, planted), ALICE);
});

test('logout destroys the server-side session: a copied cookie no longer works', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const page = await ua.login('alice', 'alice-password');
  const copied = await cookieHeader(ua);
  const id = await ua.cookie('bff.sid');
  t.is(await whoIs(ua, copied), ALICE);
  const logoutForm = readForm(page.body, 'form[action="/logout"]');
  const logout = await ua.http.post(ua.url('/logout'), { form: logoutForm.fields, headers: { origin: new URL(stack.appUrl).origin } });
  t.is(logout.statusCode, 303);
  const cleared = cookiesOf(logout).get('bff.sid');
  t.is(cleared?.value, '', 'the cookie is cleared');
  t.true((cleared?.expires as Date).getTime() < Date.now());
  t.is(await stack.store.get(id!, Date.now()), undefined, 'the record is gone');
  t.is(await whoIs(ua, copied), 401, 'the copied cookie is worthless');
  const profile = await bare(ua.url('/profile'), copied);
  t.is(profile.statusCode, 302);
  t.is(profile.headers.location, '/login?returnTo=%2Fprofile');
});

test('https BASE_URL behind a proxy (TRUST_PROXY=1, X-Forwarded-Proto: https): Secure __Host-Http- session cookies that work', async (t) => {
  const publicUrl = 'https://app.example.test';
  const proxied = await startStack({ env: { ...GENEROUS, BASE_URL: publicUrl, TRUST_PROXY: '1' } });
  t.teardown(() => proxied.close());
  // The test talks to the app directly, as the TLS-terminating proxy would.
  const ua = new UserAgent(proxied.appUrl, { 'x-forwarded-proto': 'https' });
  const start = await ua.http.get(ua.url('/login?returnTo=%2Fprofile'));
  const txCookie = [...cookiesOf(start).values()].find((c) => c.key.startsWith('__Host-bff.tx.'));
  t.truthy(txCookie, 'the transaction cookie carries the __Host- prefix');
  t.true(txCookie?.secure);
  const loginPage = await ua.navigate(start.headers.location!);
  const form = await ua.submitCredentials(loginPage, 'alice', 'alice-password');
  t.is(form.action, `${publicUrl}/callback`);
  const callback = await ua.postCallback({ ...form, action: ua.url('/callback') });
  t.is(callback.statusCode, 303, callback.body.slice(0, 300));
  const cookies = cookiesOf(callback);
  t.false(cookies.has('bff.sid'));
  t.false(cookies.has('__Host-bff.sid'), 'the session cookie has the __Host-Http- prefix, not the former __Host- one');
  for (const name of ['__Host-Http-bff.sid', '__Host-Http-bff.sid.sig']) {
    const c = cookies.get(name);
    t.truthy(c, name);
    t.true(c?.secure, `${name} Secure`);
    t.true(c?.httpOnly, `${name} HttpOnly`);
    t.is(c?.path, '/');
    t.is(c?.domain, null, `${name} without Domain`);
  }
  // tough-cookie enforces the __Host- rules (Secure, Path=/, host-only) and kept the cookies.
  const profile = await ua.navigate('/profile');
  t.is(profile.statusCode, 200);
  t.regex(profile.body, /Alice Example/);
  t.regex(String(profile.headers['strict-transport-security']), /max-age=\d+/);
});

// Without TRUST_PROXY an https deployment works too (Secure follows BASE_URL): test/integration/secure-cookie-plain-hop.test.ts.

test('SESSION_SECRET rotation: the first key signs, every key verifies', async (t) => {
  const oldKey = SESSION_SECRET;
  const newKey = 'a-brand-new-session-secret-0123456789abcdef';
  const ua = new UserAgent(stack.appUrl);
  await ua.login('alice', 'alice-password');
  const signedWithOld = await cookieHeader(ua);

  /** The same store and IdP, restarted with other SESSION_SECRET keys. */
  async function restartedWith(secret: string) {
    const { server, port, appUrl } = await listenFirst();
    const app = await startApp(server, port, appUrl, stack.idp.issuer, { env: { SESSION_SECRET: secret }, store: stack.store });
    t.teardown(() => app.close());
    return new UserAgent(app.appUrl);
  }
  const rotated = await restartedWith(`${newKey},${oldKey}`);
  const res = await bare(rotated.url('/api/session'), signedWithOld);
  t.is(res.statusCode, 200, 'a session signed with the old key still works');
  // Verified with an older key, the signature is re-issued with the first one.
  const resigned = cookiesOf(res).get('bff.sid.sig');
  t.truthy(resigned);
  const id = signedWithOld.match(/bff\.sid=([^;]+)/)![1];

  const onlyNew = await restartedWith(newKey);
  t.is(await whoIs(onlyNew, signedWithOld), 401, 'once the old key is removed, its signatures are refused');
  t.is(await whoIs(onlyNew, `bff.sid=${id}; bff.sid.sig=${resigned!.value}`), ALICE, 'the re-signed cookie works with the new key alone');
});
