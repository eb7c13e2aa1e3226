/**
 * POST /logout from the host's page: same Origin and the `_csrf` token of `bff.csrfToken(ctx)`,
 * then RP-initiated logout at the IdP; the session is gone afterwards.
 */
import test from 'ava';
import { Agent, setCookies } from './helpers/agent.ts';
import { ALICE, CLIENT_ID, discovery, startHost, type Host } from './helpers/host.ts';

let host: Host;
test.before(async () => {
  host = await startHost();
});
test.after.always(() => host?.close());

test('logout with same Origin and _csrf: 303 to the IdP end_session endpoint; the API answers 401 afterwards', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  t.is((await ua.hx('/api/hello', '/page')).statusCode, 200);
  const sid = (await ua.cookie('bff.sid'))!;
  const csrf = await ua.csrfToken('/page');
  const saved = new Agent(host.appUrl);
  await ua.copySessionTo(saved);

  const res = await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf }, headers: { origin: host.appUrl } });
  t.is(res.statusCode, 303);
  t.is(res.headers['cache-control'], 'no-store');
  const location = new URL(res.headers.location!);
  t.is(`${location.origin}${location.pathname}`, (await discovery(host)).end_session_endpoint ?? '(no end_session_endpoint)');
  t.is(location.searchParams.get('post_logout_redirect_uri'), `${host.appUrl}/`);
  t.is(location.searchParams.get('client_id'), CLIENT_ID);
  t.regex(location.searchParams.get('id_token_hint') ?? '', /^eyJ/);
  // The cookie is cleared and the server-side session is gone.
  t.true(setCookies(res).some((c) => /^bff\.sid=;/.test(c)));
  t.is(await ua.cookie('bff.sid'), undefined);
  t.is(await host.store.get(sid, Date.now()), undefined);
  t.false((await host.store.listBySub(ALICE.sub, Date.now())).some((r) => r.id === sid));

  const hx = await ua.hx('/api/hello', '/page');
  t.is(hx.statusCode, 401);
  t.regex(hx.body, /You are not logged in/);
  const json = await ua.json('/api/hello');
  t.is(json.statusCode, 401);
  t.deepEqual(JSON.parse(json.body), { error: 'unauthenticated' });

  // A copy of the old cookies names an ended session: "session ended", not "never logged in".
  const replay = await saved.hx('/api/hello', '/page');
  t.is(replay.statusCode, 401);
  t.is(replay.headers['hx-redirect'], '/login?returnTo=%2Fpage');
});

test('logout whose Origin is another site: 403 ERR_CSRF_ORIGIN, still logged in', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const csrf = await ua.csrfToken();
  const res = await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf }, headers: { origin: 'https://evil.example', accept: 'application/json' } });
  t.is(res.statusCode, 403);
  t.is(JSON.parse(res.body).error, 'ERR_CSRF_ORIGIN');
  t.is((await ua.hx('/api/hello')).statusCode, 200);
});

test('logout without a valid _csrf: 403 ERR_CSRF_TOKEN, still logged in', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const missing = await ua.http.post(ua.url('/logout'), { form: {}, headers: { origin: host.appUrl, accept: 'application/json' } });
  t.is(missing.statusCode, 403);
  t.is(JSON.parse(missing.body).error, 'ERR_CSRF_TOKEN');
  // A token of another session is not accepted either.
  const other = new Agent(host.appUrl);
  await other.login(ALICE);
  const foreign = await ua.http.post(ua.url('/logout'), { form: { _csrf: await other.csrfToken() }, headers: { origin: host.appUrl, accept: 'application/json' } });
  t.is(foreign.statusCode, 403);
  t.is(JSON.parse(foreign.body).error, 'ERR_CSRF_TOKEN');
  t.is((await ua.hx('/api/hello')).statusCode, 200);
  t.is((await other.hx('/api/hello')).statusCode, 200);
});

test('htmx never gets a 3xx from the package: an hx-post logout answers 204 + HX-Redirect to the IdP, an hx-get login 401 + HX-Redirect back to the login route (a navigation), with no transaction', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const csrf = await ua.csrfToken('/page');
  const res = await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf }, headers: { origin: host.appUrl, 'hx-request': 'true' } });
  t.is(res.statusCode, 204);
  t.is(res.headers.location, undefined);
  t.regex(String(res.headers.vary), /HX-Request/i);
  const location = new URL(String(res.headers['hx-redirect']));
  t.is(`${location.origin}${location.pathname}`, (await discovery(host)).end_session_endpoint ?? '(no end_session_endpoint)');
  t.is(await ua.cookie('bff.sid'), undefined, 'logged out all the same');

  const login = await ua.http.get(ua.url('/login?returnTo=/page'), { headers: { 'hx-request': 'true' } });
  t.is(login.statusCode, 401);
  t.is(login.headers.location, undefined);
  t.is(login.headers['hx-redirect'], '/login?returnTo=%2Fpage', 'htmx navigates to the login route, which then goes to the IdP');
  t.false(setCookies(login).some((c) => c.startsWith('bff.tx.')), 'no login transaction for an XHR');
});
