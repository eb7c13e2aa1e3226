/**
 * The package's routes moved under /auth: the dev IdP registers the matching redirect URI
 * (`redirectUris`, `postLogoutRedirectUris`, `backchannelLogoutUri`) and a login goes through them;
 * the default paths are free for the host (404 here).
 */
import test from 'ava';
import { Agent } from './helpers/agent.ts';
import { ALICE, discovery, startHost, type Host } from './helpers/host.ts';

const routes = {
  login: '/auth/login',
  callback: '/auth/callback',
  logout: '/auth/logout',
  session: '/auth/session',
  backchannelLogout: '/auth/backchannel-logout',
};

let host: Host;
test.before(async () => {
  host = await startHost({ bff: { routes }, explicitRedirectUris: true });
});
test.after.always(() => host?.close());

test('login through /auth/login and /auth/callback', async (t) => {
  const ua = new Agent(host.appUrl, routes.login);
  const { authorize, form } = await ua.loginUntilCallback('/page', ALICE);
  t.is(authorize.searchParams.get('redirect_uri'), `${host.appUrl}/auth/callback`);
  t.is(form.action, `${host.appUrl}/auth/callback`);
  const callback = await ua.postCallback(form, authorize.origin);
  t.is(callback.statusCode, 303);
  t.is(callback.headers.location, '/page');
  t.truthy(await ua.cookie('bff.sid'));

  t.is((await ua.hx('/api/hello', '/page')).statusCode, 200);
  const session = await ua.json('/auth/session');
  t.is(session.statusCode, 200);
  t.is(JSON.parse(session.body).user.sub, ALICE.sub);
  // The session route needs the API header wherever it is mounted.
  t.is((await ua.http.get(ua.url('/auth/session'), { headers: { accept: 'application/json' } })).statusCode, 403);
});

test('the default paths are not routes any more: /login, /callback, /logout, /api/session answer 404', async (t) => {
  const ua = new Agent(host.appUrl, routes.login);
  t.is((await ua.get('/login?returnTo=%2Fpage')).statusCode, 404);
  t.is((await ua.http.post(ua.url('/callback'), { form: { state: 'x', code: 'y' } })).statusCode, 404);
  t.is((await ua.http.post(ua.url('/logout'), { form: {}, headers: { origin: host.appUrl } })).statusCode, 404);
  t.is((await ua.json('/api/session')).statusCode, 404);
  t.is((await ua.http.post(ua.url('/backchannel-logout'), { form: { logout_token: 'x' } })).statusCode, 404);
});

test('unauthenticated answers point at /auth/login', async (t) => {
  const ua = new Agent(host.appUrl, routes.login);
  const nav = await ua.get('/page');
  t.is(nav.statusCode, 302);
  t.is(nav.headers.location, '/auth/login?returnTo=%2Fpage');
  const hx = await ua.hx('/api/hello', '/page');
  t.is(hx.statusCode, 401);
  t.regex(hx.body, /href="\/auth\/login\?returnTo=%2Fpage"/);
  const ended = await ua.hx('/api/hello', '/page', { 'X-Session-Expected': 'true' });
  t.is(ended.headers['hx-redirect'], '/auth/login?returnTo=%2Fpage');
});

test('logout through /auth/logout: 303 to the IdP end_session endpoint, then 401', async (t) => {
  const ua = new Agent(host.appUrl, routes.login);
  await ua.login(ALICE);
  const csrf = await ua.csrfToken('/page');
  const res = await ua.http.post(ua.url('/auth/logout'), { form: { _csrf: csrf }, headers: { origin: host.appUrl } });
  t.is(res.statusCode, 303);
  const location = new URL(res.headers.location!);
  t.is(`${location.origin}${location.pathname}`, (await discovery(host)).end_session_endpoint ?? '(no end_session_endpoint)');
  t.is(location.searchParams.get('post_logout_redirect_uri'), `${host.appUrl}/`);
  t.is((await ua.json('/api/hello')).statusCode, 401);
});

test('the back-channel logout route answers at /auth/backchannel-logout (400 for a malformed logout token)', async (t) => {
  const ua = new Agent(host.appUrl, routes.login);
  const res = await ua.http.post(ua.url('/auth/backchannel-logout'), { form: { logout_token: 'not-a-jwt' } });
  t.is(res.statusCode, 400);
});

// Known package bug: safeReturnTo (src/login/return-to.ts) refuses only the default auth paths
// (its AUTH_ROUTES set is hard-coded to /login, /callback, /logout, /backchannel-logout), so with
// custom routes a returnTo naming the login route survives and the user lands on /auth/login
// again right after logging in. Remove `.failing` once the configured paths are used.
test('returnTo naming the custom login route falls back to /, as it does for /login', async (t) => {
  const ua = new Agent(host.appUrl, routes.login);
  const callback = await ua.login(ALICE, '/auth/login');
  t.is(callback.headers.location, '/');
});
