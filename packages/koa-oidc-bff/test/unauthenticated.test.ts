/**
 * The unauthenticated contract of `bff.requireUser()` as a host sees it: never logged in
 * (htmx fragment, navigation redirect, JSON 401), a session that ended (htmx `HX-Redirect`),
 * and `X-Session-Expected`.
 */
import test from 'ava';
import { SESSION_EXPECTED_HEADER } from 'koa-oidc-bff';
import { Agent, setCookies } from './helpers/agent.ts';
import { ALICE, startHost, type Host } from './helpers/host.ts';

let host: Host;
let custom: Host;
test.before(async () => {
  [host, custom] = await Promise.all([
    startHost(),
    startHost({ bff: { render: { notLoggedIn: (ctx, data) => `<div id="custom-login" data-path="${ctx.path}"><a href="${data.loginUrl}">Sign in</a></div>` } } }),
  ]);
});
test.after.always(async () => {
  await Promise.all([host?.close(), custom?.close()]);
});

test('never logged in, htmx: 401 + the default not-logged-in fragment with a login link back to the page', async (t) => {
  const ua = new Agent(host.appUrl);
  const res = await ua.hx('/api/hello', '/page?tab=1');
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], undefined);
  t.regex(String(res.headers['content-type']), /^text\/html/);
  t.is(res.headers['cache-control'], 'no-store');
  t.regex(String(res.headers.vary), /HX-Request/i);
  t.is(res.body, '<p role="alert">You are not logged in. <a href="/login?returnTo=%2Fpage%3Ftab%3D1">Log in</a></p>');
  t.deepEqual(setCookies(res), [], 'no session is created for an anonymous visitor');
});

test('never logged in, htmx: the render.notLoggedIn hook renders the fragment', async (t) => {
  const ua = new Agent(custom.appUrl);
  const res = await ua.hx('/api/hello', '/page');
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], undefined);
  t.regex(String(res.headers['content-type']), /^text\/html/);
  t.is(res.body, '<div id="custom-login" data-path="/api/hello"><a href="/login?returnTo=%2Fpage">Sign in</a></div>');
});

test('never logged in, navigation: 302 to /login?returnTo=<path>', async (t) => {
  const ua = new Agent(host.appUrl);
  const res = await ua.get('/page?tab=1');
  t.is(res.statusCode, 302);
  t.is(res.headers.location, '/login?returnTo=%2Fpage%3Ftab%3D1');
  t.is(res.headers['cache-control'], 'no-store');
});

test('never logged in, JSON (Accept: application/json): 401 {"error":"unauthenticated"}, no redirect', async (t) => {
  const ua = new Agent(host.appUrl);
  const api = await ua.json('/api/hello');
  t.is(api.statusCode, 401);
  t.regex(String(api.headers['content-type']), /^application\/json/);
  t.deepEqual(JSON.parse(api.body), { error: 'unauthenticated' });
  t.is(api.headers.location, undefined);
  // A page asked for as JSON gets the same answer.
  const page = await ua.get('/page', { accept: 'application/json' });
  t.is(page.statusCode, 401);
  t.deepEqual(JSON.parse(page.body), { error: 'unauthenticated' });
});

test('X-Session-Expected: true without a cookie: 401 + HX-Redirect to the login with the page as returnTo', async (t) => {
  t.is(SESSION_EXPECTED_HEADER, 'X-Session-Expected');
  const ua = new Agent(host.appUrl);
  const res = await ua.hx('/api/hello', '/page?tab=2', { [SESSION_EXPECTED_HEADER]: 'true' });
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], '/login?returnTo=%2Fpage%3Ftab%3D2');
  t.is(res.body, '');
  // Any other value is not the header.
  const other = await ua.hx('/api/hello', '/page', { [SESSION_EXPECTED_HEADER]: 'yes' });
  t.is(other.statusCode, 401);
  t.is(other.headers['hx-redirect'], undefined);
});

test('session destroyed in the store: htmx gets 401 + HX-Redirect to /login?returnTo=<page from HX-Current-URL>', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  t.is((await ua.hx('/api/hello', '/page')).statusCode, 200);
  const sid = (await ua.cookie('bff.sid'))!;
  await host.store.destroy(sid);

  const res = await ua.hx('/api/hello', '/page?tab=3');
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], '/login?returnTo=%2Fpage%3Ftab%3D3');
  t.is(res.body, '');
  t.notRegex(res.body, /Hello/);
  // The stale cookie is cleared with that answer...
  t.true(setCookies(res).some((c) => /^bff\.sid=;/.test(c) && /expires=Thu, 01 Jan 1970/i.test(c)));
  t.is(await ua.cookie('bff.sid'), undefined);
  // ...so the next request without X-Session-Expected is "never logged in" again.
  const next = await ua.hx('/api/hello', '/page');
  t.is(next.statusCode, 401);
  t.is(next.headers['hx-redirect'], undefined);
  t.regex(next.body, /You are not logged in/);
});

test('session destroyed in the store: a navigation is redirected to log in and come back', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  await host.store.destroy((await ua.cookie('bff.sid'))!);
  const res = await ua.get('/page');
  t.is(res.statusCode, 302);
  t.is(res.headers.location, '/login?returnTo=%2Fpage');
});

test('logged out in another browser sharing the cookie: htmx gets 401 + HX-Redirect', async (t) => {
  const first = new Agent(host.appUrl);
  await first.login(ALICE);
  const second = new Agent(host.appUrl);
  await first.copySessionTo(second);
  t.is((await second.hx('/api/hello')).statusCode, 200, 'the copied cookie is the same session');

  const logout = await second.http.post(second.url('/logout'), { form: { _csrf: await second.csrfToken() }, headers: { origin: host.appUrl } });
  t.is(logout.statusCode, 303);

  const res = await first.hx('/api/hello', '/page');
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], '/login?returnTo=%2Fpage');
  t.is(res.body, '');
  const json = await first.json('/api/hello');
  t.is(json.statusCode, 401);
  t.deepEqual(JSON.parse(json.body), { error: 'unauthenticated' });
});

test('regression: re-authentication after an ended session from an htmx navigation (boosted link) returns to the page it was going to', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  await host.store.destroy((await ua.cookie('bff.sid'))!);
  // A boosted link to /page?tab=4, clicked on /other: the user was going to /page?tab=4.
  const boosted = await ua.hx('/page?tab=4', '/other', { 'HX-Boosted': 'true' });
  t.is(boosted.statusCode, 401);
  t.is(boosted.headers['hx-redirect'], '/login?returnTo=%2Fpage%3Ftab%3D4');
  // A history restore is a navigation too.
  const restore = await ua.hx('/page?tab=5', '/other', { 'HX-History-Restore-Request': 'true', [SESSION_EXPECTED_HEADER]: 'true' });
  t.is(restore.headers['hx-redirect'], '/login?returnTo=%2Fpage%3Ftab%3D5');
  // A button's fragment request still returns to the page it was made from, never to the fragment's URL.
  const button = await ua.hx('/api/hello', '/other?x=1', { [SESSION_EXPECTED_HEADER]: 'true' });
  t.is(button.headers['hx-redirect'], '/login?returnTo=%2Fother%3Fx%3D1');
  // Same-origin rules as ever: a boosted request for an auth route or another origin's page goes home.
  const toLogin = await ua.hx('/login?returnTo=/x', '/other', { 'HX-Boosted': 'true', [SESSION_EXPECTED_HEADER]: 'true' });
  t.not(toLogin.headers['hx-redirect'], '/login?returnTo=%2Flogin%3FreturnTo%3D%2Fx');
});

test('never logged in, boosted htmx navigation to a protected page: HX-Redirect to log in (no notice swapped into a page being left)', async (t) => {
  const ua = new Agent(host.appUrl);
  const res = await ua.hx('/page?tab=6', '/', { 'HX-Boosted': 'true' });
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], '/login?returnTo=%2Fpage%3Ftab%3D6');
});
