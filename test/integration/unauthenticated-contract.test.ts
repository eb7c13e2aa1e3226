/**
 * The main-job contract for requests without a valid session: never logged in vs session ended,
 * for htmx, navigations and JSON clients; the /api CSRF header rule; /api/session; /healthz;
 * no session stored for anonymous visitors.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

let stack: Stack;
test.before(async () => {
  stack = await startStack();
});
test.after.always(() => stack?.close());

test.serial('htmx request without a session cookie: 401 with the not-logged-in notice, no HX-Redirect', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.hx('/api/hello', '/profile?tab=1');
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], undefined);
  const notice = parse(res.body).querySelector('[data-testid="not-logged-in"]');
  t.truthy(notice);
  t.regex(notice!.text, /not logged in/i);
  const link = notice!.querySelector('a')!;
  t.is(link.text.trim(), 'Log in now');
  t.is(link.getAttribute('href'), `/login?returnTo=${encodeURIComponent('/profile?tab=1')}`);
  t.notRegex(res.body, /Hello,/);
});

test.serial('htmx request whose cookie names an ended session: 401 + HX-Redirect back to the page', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  t.is((await ua.hx('/api/hello', '/')).statusCode, 200);
  // End the session on the server (expired, revoked or destroyed elsewhere).
  await stack.store.destroyBySub('a1b2c3d4-alice');
  const res = await ua.hx('/api/hello', '/profile');
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], '/login?returnTo=%2Fprofile');
  t.notRegex(res.body, /Hello,/);
});

test.serial('ended session, HX-Current-URL from another origin: returnTo falls back to /', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  await stack.store.destroyBySub('a1b2c3d4-alice');
  const res = await ua.http.get(ua.url('/api/hello'), { headers: { 'hx-request': 'true', 'hx-current-url': 'https://evil.example/phish' } });
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], '/login?returnTo=%2F');
});

test.serial('a plain navigation to a protected page is redirected to log in and come back', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.http.get(ua.url('/profile'), { headers: { accept: 'text/html' } });
  t.is(res.statusCode, 302);
  t.is(res.headers.location, '/login?returnTo=%2Fprofile');
});

test.serial('a navigation with an ended session is redirected too', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  await stack.store.destroyBySub('a1b2c3d4-alice');
  const res = await ua.http.get(ua.url('/profile'), { headers: { accept: 'text/html' } });
  t.is(res.statusCode, 302);
  t.is(res.headers.location, '/login?returnTo=%2Fprofile');
});

test.serial('a JSON client gets 401 {"error":"unauthenticated"}, never a redirect', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.http.get(ua.url('/api/hello'), { headers: { accept: 'application/json', 'x-csrf': '1' }, responseType: 'json' });
  t.is(res.statusCode, 401);
  t.deepEqual(res.body, { error: 'unauthenticated' });
  t.is(res.headers.location, undefined);
  const page = await ua.http.get(ua.url('/profile'), { headers: { accept: 'application/json' }, responseType: 'json' });
  t.is(page.statusCode, 401);
  t.deepEqual(page.body, { error: 'unauthenticated' });
});

test.serial('every /api/* request needs HX-Request or X-CSRF: 403 otherwise, even when logged in', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  for (const path of ['/api/hello', '/api/session', '/api/unknown']) {
    const res = await ua.http.get(ua.url(path), { headers: { accept: 'application/json' } });
    t.is(res.statusCode, 403, path);
  }
  t.is((await ua.http.get(ua.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' } })).statusCode, 200);
  t.is((await ua.http.get(ua.url('/api/hello'), { headers: { 'hx-request': 'true' } })).statusCode, 200);
  // A header value other than the exact ones does not count.
  t.is((await ua.http.get(ua.url('/api/hello'), { headers: { 'hx-request': 'false', 'x-csrf': '0' } })).statusCode, 403);
});

test.serial('GET /api/session: 401 when logged out, the user and expiry when logged in', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const anonymous = await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' }, responseType: 'json' });
  t.is(anonymous.statusCode, 401);
  t.deepEqual(anonymous.body, { error: 'unauthenticated' });
  await ua.login();
  const res = await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' }, responseType: 'json' });
  t.is(res.statusCode, 200);
  const body = res.body as { user: { sub: string }; expiresAt: number; idleExpiresAt: number; absoluteExpiresAt: number };
  t.is(body.user.sub, 'a1b2c3d4-alice');
  t.true(Number.isInteger(body.expiresAt));
  t.true(body.absoluteExpiresAt >= body.idleExpiresAt);
  t.is(res.headers['cache-control'], 'no-store');
});

test.serial('GET /healthz answers {"status":"ok"}', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.http.get(ua.url('/healthz'), { responseType: 'json' });
  t.is(res.statusCode, 200);
  t.deepEqual(res.body, { status: 'ok' });
});

test.serial('anonymous visitors get no session cookie and nothing is stored for them', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const before = await stack.store.listBySub('', Date.now());
  for (const path of ['/', '/profile', '/healthz', '/static/app.css', '/no-such-page']) {
    const res = await ua.http.get(ua.url(path));
    const setCookie = res.headers['set-cookie'] ?? [];
    t.false(setCookie.some((c) => c.startsWith('bff.sid')), `${path} sets no session cookie`);
  }
  t.is((await ua.hx('/api/hello')).statusCode, 401);
  t.deepEqual(await ua.jar.getCookies(stack.appUrl), []);
  t.deepEqual(await stack.store.listBySub('', Date.now()), before);
});

test.serial('logout is a POST: GET /logout is refused', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const res = await ua.http.get(ua.url('/logout'));
  t.is(res.statusCode, 405);
  t.is((await ua.hx('/api/hello')).statusCode, 200, 'still logged in');
});

test.serial('the home page shows Log in, Call API; logged in it shows the name, Profile and Log out', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const anon = parse((await ua.navigate('/')).body);
  t.truthy(anon.querySelector('a[href^="/login"]'));
  t.truthy(anon.querySelectorAll('button').find((b) => b.text.trim() === 'Call API'));
  t.is(anon.querySelector('form[action="/logout"]'), null);
  await ua.login();
  const home = parse((await ua.navigate('/')).body);
  t.regex(home.querySelector('[data-testid="user-name"]')!.text, /Alice Example/);
  t.truthy(home.querySelector('a[href="/profile"]'));
  t.is(home.querySelector('form[action="/logout"]')!.getAttribute('method'), 'post');
});

test.serial('an htmx navigation gets the fragment, a reload of the same address the full page', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login();
  const fragment = await ua.hx('/profile', '/');
  t.is(fragment.statusCode, 200);
  t.notRegex(fragment.body, /<html/);
  t.truthy(parse(fragment.body).querySelector('#profile'));
  t.regex(String(fragment.headers.vary), /HX-Request/i);
  const full = await ua.navigate('/profile');
  t.regex(full.body, /<html/);
  t.truthy(parse(full.body).querySelector('main #profile'));
});
