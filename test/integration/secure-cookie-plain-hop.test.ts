/**
 * Issue 13, item 1: an https BASE_URL makes the session cookies Secure whatever the hop the
 * request came over. With TRUST_PROXY=0 (or a proxy that sends no X-Forwarded-Proto) Koa sees
 * plain http and its cookie library refuses Secure cookies unless told the connection counts as
 * secure; a callback, a logout, a cookie naming an ended session must still never answer 500,
 * and no session may be left behind by a request that failed. Plain http requests to the app,
 * then the same through a real TLS-terminating proxy that forwards over http.
 */
import test from 'ava';
import type { Got } from 'got';
import { Cookie } from 'tough-cookie';
import { GENEROUS, startStack, type Stack } from '../helpers/stack.ts';
import { setCookies } from '../helpers/login-assertions.ts';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

const PUBLIC = 'https://app.example.test';
const NAME = '__Host-Http-bff.sid';
const ALICE = 'a1b2c3d4-alice';

let stack: Stack;
let proxy: TlsProxy;
test.before(async () => {
  stack = await startStack({ env: { ...GENEROUS, BASE_URL: PUBLIC, TRUST_PROXY: '0' } });
  proxy = await startTlsProxy(stack.appUrl);
});
test.after.always(async () => {
  await proxy?.close();
  await stack?.close();
});

const cookiesOf = (res: Res) => new Map(setCookies(res).map((h) => Cookie.parse(h)!).map((c) => [c.key, c]));

/** Logs in through `ua` (its base URL is where the app is reached), posting the form_post to that same place. */
async function login(t: import('ava').ExecutionContext, ua: UserAgent): Promise<Res> {
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
  t.is(form.action, `${PUBLIC}/callback`);
  return ua.postCallback({ ...form, action: ua.url('/callback') });
}

async function journey(t: import('ava').ExecutionContext, ua: UserAgent): Promise<void> {
  const callback = await login(t, ua);
  t.is(callback.statusCode, 303, `callback: ${callback.body.slice(0, 300)}`);
  const written = cookiesOf(callback);
  for (const name of [NAME, `${NAME}.sig`]) {
    t.true(written.get(name)?.secure, `${name} written Secure over a plain-http hop`);
    t.true(written.get(name)?.httpOnly, `${name} HttpOnly`);
  }
  const id = (await ua.cookie(NAME))!;
  t.is((await stack.store.get(id, Date.now()))?.sub, ALICE);
  t.is((await ua.navigate('/profile')).statusCode, 200);

  // A cookie naming a session that no longer exists (expired, ended elsewhere): cleared, not a 500.
  await stack.store.destroy(id);
  const stale = await ua.http.get(ua.url('/profile'), { headers: { accept: 'text/html' } });
  t.is(stale.statusCode, 302, stale.body.slice(0, 300));
  t.is(stale.headers.location, '/login?returnTo=%2Fprofile');
  t.is(cookiesOf(stale).get(NAME)?.value, '', 'the stale cookie is cleared');
  t.true(cookiesOf(stale).get(NAME)?.secure, 'with the attributes it was set with');

  // Logout over the same hop: 303, cookies cleared, nothing left in the store.
  t.is((await login(t, ua)).statusCode, 303);
  const page = await ua.navigate('/profile');
  const logout = await ua.http.post(ua.url('/logout'), { form: readForm(page.body, 'form[action="/logout"]').fields, headers: { origin: PUBLIC } });
  t.is(logout.statusCode, 303, logout.body.slice(0, 300));
  t.is(cookiesOf(logout).get(NAME)?.value, '');
  t.is(await ua.cookie(NAME), undefined);
  t.deepEqual(await stack.store.listBySub(ALICE, Date.now()), [], 'no session left behind');
}

test.serial('https BASE_URL, TRUST_PROXY=0, plain http requests: login, stale cookie, logout all work, Secure cookies, never a 500', async (t) => {
  await journey(t, new UserAgent(stack.appUrl));
  t.false(stack.logs().some((l) => l.status === 500 || l.level === 50), 'no 500 and no error line');
});

test.serial('the same through a TLS-terminating proxy that forwards over http without X-Forwarded-Proto', async (t) => {
  const ua = new UserAgent(proxy.url);
  (ua as unknown as { http: Got }).http = ua.http.extend({ https: { rejectUnauthorized: false } });
  await journey(t, ua);
  t.false(stack.logs().some((l) => l.status === 500 || l.level === 50), 'no 500 and no error line');
});
