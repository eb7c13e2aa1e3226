/**
 * Fetch Metadata over real HTTP: a second CSRF defence (state-changing requests with
 * `Sec-Fetch-Site: cross-site` are refused with 403 before any route runs, except the IdP's
 * form_post to /callback and its server-to-server /backchannel-logout), and `GET /login` sends
 * only top-level navigations to the IdP (fetch, XHR and htmx get 401 JSON or HX-Redirect, and no
 * login transaction is created).
 */
import test from 'ava';
import got from 'got';
import { startStack, type Stack } from '../helpers/stack.ts';
import { issueLogoutToken, storedSession } from '../helpers/tokens.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

const CROSS_SITE = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const setCookies = (headers: Record<string, unknown>) => ([] as string[]).concat((headers['set-cookie'] as string[] | undefined) ?? []);

let stack: Stack;
test.before(async () => {
  stack = await startStack();
});
test.after.always(() => stack?.close());

test('a login made the way a browser makes it (its form_post to /callback is cross-site) still works', async (t) => {
  const ua = new UserAgent(stack.appUrl, CROSS_SITE);
  const landed = await ua.login('alice', 'alice-password', '/profile');
  t.is(landed.statusCode, 200);
  t.is((await ua.hx('/api/hello', '/', { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })).statusCode, 200, 'a cross-site GET is never refused by this check either');
});

test('cross-site POST, PUT, PATCH and DELETE are refused with 403 ERR_CSRF_FETCH_METADATA before any route, even with a valid token and Origin; the session survives', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('bob', 'bob-password');
  // A second session of bob's, so "Your sessions" offers to end the others.
  await new UserAgent(stack.appUrl).login('bob', 'bob-password');
  const origin = new URL(stack.appUrl).origin;
  const page = await ua.http.get(ua.url('/'));
  const logout = readForm(page.body, 'form[action="/logout"]');
  const refusedBefore = stack.logs().filter((l) => l.event === 'csrf.rejected' && l.check === 'fetch_metadata').length;

  const forged = await ua.http.post(ua.url('/logout'), { form: logout.fields, headers: { origin, 'sec-fetch-site': 'cross-site', accept: 'application/json' } });
  t.is(forged.statusCode, 403);
  t.is(JSON.parse(forged.body).error, 'ERR_CSRF_FETCH_METADATA');
  t.is(forged.headers.location, undefined);

  const sessions = await ua.http.get(ua.url('/sessions'));
  const endOthers = readForm(sessions.body, 'form[action="/sessions/end-others"]');
  const page403 = await ua.http.post(ua.url('/sessions/end-others'), { form: endOthers.fields, headers: { origin, 'sec-fetch-site': 'cross-site' } });
  t.is(page403.statusCode, 403, 'a host route behind requireCsrf');
  t.regex(page403.headers['content-type'] ?? '', /text\/html/);

  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const answer = await ua.http(ua.url('/api/hello'), { method, headers: { 'x-csrf': '1', accept: 'application/json', 'sec-fetch-site': 'cross-site' } });
    t.is(answer.statusCode, 403, method);
    t.is(JSON.parse(answer.body).error, 'ERR_CSRF_FETCH_METADATA', method);
  }
  const refused = stack.logs().filter((l) => l.event === 'csrf.rejected' && l.check === 'fetch_metadata');
  t.is(refused.length - refusedBefore, 5, 'each refusal is a csrf.rejected event naming its check');
  t.like(refused.at(-1), { event: 'csrf.rejected', reason: 'ERR_CSRF_FETCH_METADATA', check: 'fetch_metadata' });

  // Same-site and same-origin requests, and clients without Fetch Metadata, go on to the other checks.
  t.is((await ua.hx('/api/hello', '/', { 'sec-fetch-site': 'cross-site' })).statusCode, 200, 'a GET is not looked at');
  const sameOrigin = await ua.http.post(ua.url('/logout'), { form: logout.fields, headers: { origin, 'sec-fetch-site': 'same-origin' } });
  t.is(sameOrigin.statusCode, 303, 'the genuine logout works');
});

test('the other CSRF checks stay and name theirs: api_header, origin, token', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('alice', 'alice-password');
  const logout = readForm((await ua.http.get(ua.url('/'))).body, 'form[action="/logout"]');
  const json = { accept: 'application/json' };
  t.is((await ua.http.get(ua.url('/api/hello'), { headers: json })).statusCode, 403);
  t.is((await ua.http.post(ua.url('/logout'), { form: logout.fields, headers: { ...json, origin: 'https://evil.example' } })).statusCode, 403);
  t.is((await ua.http.post(ua.url('/logout'), { form: { _csrf: 'forged' }, headers: { ...json, origin: new URL(stack.appUrl).origin } })).statusCode, 403);
  const checks = stack.logs().filter((l) => l.event === 'csrf.rejected').map((l) => `${String(l.reason)} ${String(l.check)}`);
  for (const expected of ['ERR_CSRF_HEADER api_header', 'ERR_CSRF_ORIGIN origin', 'ERR_CSRF_TOKEN token']) t.true(checks.includes(expected), expected);
});

test('cross-site POST /backchannel-logout (server to server) is not refused by the check', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('alice', 'alice-password');
  const sid = (await storedSession(stack, ua))!.sid!;
  const token = await issueLogoutToken(stack, { sub: 'a1b2c3d4-alice', sid });
  const answer = await got.post(`${stack.appUrl}/backchannel-logout`, { form: { logout_token: token }, headers: { 'sec-fetch-site': 'cross-site' }, throwHttpErrors: false, retry: { limit: 0 } });
  t.is(answer.statusCode, 200);
});

test('GET /login: only a top-level navigation goes to the IdP; fetch, XHR and htmx get 401 JSON or HX-Redirect, and no transaction', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const login = (headers: Record<string, string>) => ua.http.get(ua.url('/login?returnTo=%2Fprofile'), { headers });

  for (const [kind, headers] of [
    ['fetch with Accept JSON', { 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty', accept: 'application/json' }],
    ['fetch with Accept */*', { 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty', accept: '*/*' }],
    ['no-cors fetch', { 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'same-origin', accept: '*/*' }],
  ] as const) {
    const answer = await login(headers);
    t.is(answer.statusCode, 401, kind);
    t.deepEqual(JSON.parse(answer.body), { error: 'unauthenticated' }, kind);
    t.is(answer.headers.location, undefined, kind);
    t.deepEqual(setCookies(answer.headers), [], `${kind}: no transaction cookie`);
  }

  const hx = await login({ 'hx-request': 'true', 'hx-current-url': ua.url('/profile'), 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' });
  t.is(hx.statusCode, 401);
  t.is(hx.headers['hx-redirect'], '/login?returnTo=%2Fprofile', 'htmx navigates to /login itself');
  t.is(hx.headers.location, undefined);
  t.deepEqual(setCookies(hx.headers), []);

  for (const [kind, headers] of [['navigation', { 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', 'sec-fetch-dest': 'document' }], ['a client without Fetch Metadata', {}]] as const) {
    const answer = await login(headers);
    t.is(answer.statusCode, 302, kind);
    t.true(String(answer.headers.location).startsWith(`${stack.idp.issuer}/auth?`), kind);
    t.true(setCookies(answer.headers).some((c) => c.startsWith('bff.tx.')), `${kind}: a transaction`);
    t.regex(String(answer.headers.vary), /Sec-Fetch-Mode/i, kind);
  }
});
