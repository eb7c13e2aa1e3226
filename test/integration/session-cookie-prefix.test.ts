/**
 * Issue 13, item 4: over https the session cookie is `__Host-Http-bff.sid` (a browser that knows
 * the prefix lets only an HTTP response set it, Secure, HttpOnly, Path=/, host-only). Sessions
 * started under the former name `__Host-bff.sid` are kept: the old cookie is read once, reissued
 * under the new name with the same id, and cleared, on GET and POST alike. `bff.cookieName` says
 * the name in use; over http it stays `bff.sid`. Serial: the POST case ends the other sessions of the user.
 */
import { createHmac } from 'node:crypto';
import test from 'ava';
import got from 'got';
import { Cookie } from 'tough-cookie';
import { setCookies } from '../helpers/login-assertions.ts';
import { GENEROUS, SESSION_SECRET, startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

const PUBLIC = 'https://app.example.test';
const NAME = '__Host-Http-bff.sid';
const LEGACY = '__Host-bff.sid';
const ALICE = 'a1b2c3d4-alice';

let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: { ...GENEROUS, BASE_URL: PUBLIC, TRUST_PROXY: '0' } });
});
test.after.always(() => stack?.close());

const cookiesOf = (res: Res) => new Map(setCookies(res).map((h) => Cookie.parse(h)!).map((c) => [c.key, c]));
/** The companion signature as the package (and keygrip) computes it: HMAC-SHA1 over `name=value`. */
const sign = (name: string, value: string) => createHmac('sha1', SESSION_SECRET).update(`${name}=${value}`).digest('base64url');
const legacyCookies = (id: string) => `${LEGACY}=${id}; ${LEGACY}.sig=${sign(LEGACY, id)}`;
const get = (path: string, cookie: string) => got(`${stack.appUrl}${path}`, { headers: { 'x-csrf': '1', accept: 'application/json', cookie }, throwHttpErrors: false, followRedirect: false, retry: { limit: 0 } });

async function loggedIn(): Promise<string> {
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/');
  const callback = await ua.postCallback({ ...form, action: ua.url('/callback') });
  if (callback.statusCode !== 303) throw new Error(`callback answered ${callback.statusCode}`);
  const written = cookiesOf(callback);
  if (written.has(LEGACY)) throw new Error('a login wrote the former name');
  return written.get(NAME)!.value;
}

function assertMigrated(t: import('ava').ExecutionContext, res: Res, id: string, absoluteExpiresAt: number): void {
  const cookies = cookiesOf(res);
  const moved = cookies.get(NAME);
  t.is(moved?.value, id, 'the same session id under the new name');
  t.is(cookies.get(`${NAME}.sig`)?.value, sign(NAME, id), 'signed for the new name');
  for (const c of [moved!, cookies.get(`${NAME}.sig`)!]) {
    t.deepEqual([c.secure, c.httpOnly, c.path, c.domain, c.sameSite], [true, true, '/', null, 'lax'], `${c.key} attributes`);
    t.true(Math.abs((c.expires as Date).getTime() - absoluteExpiresAt) < 2000, `${c.key} expires with the session`);
  }
  t.is(cookies.get(LEGACY)?.value, '', 'the old cookie is cleared');
  t.is(cookies.get(`${LEGACY}.sig`)?.value, '', 'and its signature');
}

test.serial('over https the session cookie is __Host-Http-bff.sid and bff.cookieName says so', async (t) => {
  t.is(stack.app.bff.cookieName, NAME);
  const id = await loggedIn();
  t.regex(id, /^[A-Za-z0-9_-]{32}$/);
  t.true(`${NAME}=${id}`.length <= 100 && `${NAME}.sig=${sign(NAME, id)}`.length <= 100, 'each cookie at most 100 bytes');
});

test.serial('a session under the former __Host-bff.sid name is kept: read once (GET), reissued under the new name, the old cleared', async (t) => {
  const id = await loggedIn();
  const record = (await stack.store.get(id, Date.now()))!;
  const first = await get('/api/session', legacyCookies(id));
  t.is(first.statusCode, 200, 'still logged in');
  t.is(JSON.parse(first.body).user.sub, ALICE);
  assertMigrated(t, first, id, record.absoluteExpiresAt);
  const next = await get('/api/session', `${NAME}=${id}; ${NAME}.sig=${sign(NAME, id)}`);
  t.is(next.statusCode, 200);
  t.is(next.headers['set-cookie'], undefined, 'nothing more to move');
  // A forged old-name cookie is not moved (nor cleared).
  const forged = await get('/api/session', `${LEGACY}=${id}; ${LEGACY}.sig=${sign(LEGACY, `${id}x`)}`);
  t.is(forged.statusCode, 401);
  t.is(forged.headers['set-cookie'], undefined);
});

test.serial('the migration through koa-session (a POST form) moves the cookie too', async (t) => {
  const id = await loggedIn();
  const record = (await stack.store.get(id, Date.now()))!;
  const page = await get('/', legacyCookies(id));
  const csrf = readForm(page.body, 'form[action="/logout"]').fields._csrf!;
  const res = await got.post(`${stack.appUrl}/sessions/end-others`, { form: { _csrf: csrf }, headers: { cookie: legacyCookies(id), origin: PUBLIC }, throwHttpErrors: false, followRedirect: false });
  t.is(res.statusCode, 303, res.body.slice(0, 300));
  assertMigrated(t, res, id, record.absoluteExpiresAt);
});

test.serial('a former-name cookie of an ended session is cleared like any stale cookie', async (t) => {
  const id = await loggedIn();
  await stack.store.destroy(id);
  const res = await got(`${stack.appUrl}/profile`, { headers: { cookie: legacyCookies(id), accept: 'text/html' }, throwHttpErrors: false, followRedirect: false });
  t.is(res.statusCode, 302);
  const cookies = cookiesOf(res);
  t.is(cookies.get(LEGACY)?.value, '');
  t.is(cookies.get(`${LEGACY}.sig`)?.value, '');
  t.false(cookies.has(NAME) && cookies.get(NAME)!.value !== '', 'nothing issued under the new name');
});
