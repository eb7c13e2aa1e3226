/**
 * Security headers on every response (issue 3): a CSP without 'unsafe-inline'/'unsafe-eval' for
 * scripts and with frame-ancestors 'none', nosniff, a strict Referrer-Policy; Cache-Control:
 * no-store on everything that depends on the session; and the back button after logout showing
 * nothing private (no-store pages, htmx without a history cache).
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { GENEROUS, startStack, type Stack } from '../helpers/stack.ts';
import { listen } from '../../src/server.ts';
import { send } from '../helpers/raw-http.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: GENEROUS })
});
test.after.always(async () => {
  await stack?.close();
});

const STRICT_REFERRER = new Set(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin']);

/** CSP directives by name. */
function csp(res: Res): Map<string, string[]> {
  const header = String(res.headers['content-security-policy'] ?? '');
  return new Map(header.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name!, values]));
}

function assertSecurityHeaders(t: import('ava').ExecutionContext, name: string, res: Res): void {
  const policy = csp(res);
  const scripts = policy.get('script-src') ?? policy.get('default-src');
  t.truthy(scripts, `${name}: a script policy`);
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:']) t.false(scripts?.includes(unsafe) ?? false, `${name}: script-src without ${unsafe}`);
  t.false(policy.get('script-src-attr')?.includes("'unsafe-inline'") ?? false, `${name}: no inline event handlers`);
  t.deepEqual(policy.get('frame-ancestors'), ["'none'"], `${name}: frame-ancestors 'none'`);
  t.deepEqual(policy.get('object-src'), ["'none'"], `${name}: object-src 'none'`);
  t.is(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`);
  t.true(STRICT_REFERRER.has(String(res.headers['referrer-policy'])), `${name}: strict Referrer-Policy, got ${res.headers['referrer-policy']}`);
}

function assertNoStore(t: import('ava').ExecutionContext, name: string, res: Res): void {
  t.regex(String(res.headers['cache-control'] ?? ''), /no-store/, `${name}: Cache-Control no-store`);
}

/** Every kind of answer, for a visitor and for a logged-in user; `private` marks those that depend on the session. */
async function everyKindOfResponse(): Promise<[string, Res, boolean][]> {
  const visitor = new UserAgent(stack.appUrl);
  const user = new UserAgent(stack.appUrl);
  const form = await user.loginUntilCallback('alice', 'alice-password');
  const callback = await user.postCallback(form);
  const home = await user.navigate('/');
  const token = readForm(home.body, 'form[action="/logout"]').fields._csrf!;
  const other = new UserAgent(stack.appUrl);
  await other.login('bob', 'bob-password');
  const otherHome = await other.navigate('/');
  const otherToken = readForm(otherHome.body, 'form[action="/logout"]').fields._csrf!;
  const origin = new URL(stack.appUrl).origin;
  return [
    ['visitor page', await visitor.navigate('/'), true],
    ['visitor 302 to login', await visitor.http.get(visitor.url('/profile')), true],
    ['visitor htmx 401', await visitor.hx('/api/hello'), true],
    ['visitor JSON 401', await visitor.http.get(visitor.url('/api/session'), { headers: { 'x-csrf': '1', accept: 'application/json' } }), true],
    ['404 page', await visitor.navigate('/no-such-page'), true],
    ['GET /login', await visitor.http.get(visitor.url('/login')), true],
    ['callback success', callback, true],
    ['callback failure', await visitor.http.post(visitor.url('/callback'), { form: { state: 'x'.repeat(43), code: 'abc' } }), true],
    ['logged-in page', home, true],
    ['profile page', await user.navigate('/profile'), true],
    ['profile fragment', await user.hx('/profile', '/'), true],
    ['API fragment', await user.hx('/api/hello'), true],
    ['API JSON', await user.http.get(user.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' } }), true],
    ['API session', await user.http.get(user.url('/api/session'), { headers: { 'x-csrf': '1' } }), true],
    ['API 403 without header', await user.http.get(user.url('/api/hello')), true],
    ['logout 403', await user.http.post(user.url('/logout'), { form: { _csrf: token }, headers: { origin: 'https://evil.example' } }), true],
    ['logout', await other.http.post(other.url('/logout'), { form: { _csrf: otherToken }, headers: { origin } }), true],
    ['healthz', await visitor.http.get(visitor.url('/healthz')), false],
    ['static css', await visitor.http.get(visitor.url('/static/app.css')), false],
    ['static js', await visitor.http.get(visitor.url('/static/app.js')), false],
    ['htmx', await visitor.http.get(visitor.url('/vendor/htmx/htmx.min.js')), false],
    ['static 404', await visitor.http.get(visitor.url('/static/missing.js')), false],
  ];
}

test('every response carries the security headers; every session-dependent one is no-store', async (t) => {
  const responses = await everyKindOfResponse();
  for (const [name, res, isPrivate] of responses) {
    t.log(`${res.statusCode} ${name}`);
    assertSecurityHeaders(t, name, res);
    if (isPrivate) assertNoStore(t, name, res);
  }
  // A sanity check that the list covers successes, redirects and client errors.
  const statuses = new Set(responses.map(([, r]) => r.statusCode));
  for (const s of [200, 302, 303, 400, 401, 403, 404]) t.true(statuses.has(s), `covers ${s}`);
});

test('pages have no inline script, inline handler or inline style, and configure htmx without eval or a history cache', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  for (const page of [await ua.navigate('/'), await ua.login('alice', 'alice-password'), await ua.navigate('/profile')]) {
    const doc = parse(page.body);
    for (const script of doc.querySelectorAll('script')) {
      t.truthy(script.getAttribute('src'), 'scripts come from files');
      t.is(script.text.trim(), '');
    }
    for (const el of doc.querySelectorAll('*')) {
      const attributes = Object.keys(el.attributes);
      t.false(attributes.some((a) => /^on|^hx-on/i.test(a)), `no inline handler on <${el.tagName}>`);
      t.false(attributes.includes('style'), `no inline style on <${el.tagName}>`);
    }
    t.is(doc.querySelectorAll('style').length, 0);
    const config = JSON.parse(doc.querySelector('meta[name="htmx-config"]')!.getAttribute('content')!) as Record<string, unknown>;
    t.is(config.historyCacheSize, 0, 'htmx keeps no page snapshots in localStorage');
    t.is(config.refreshOnHistoryMiss, true, 'the back button re-fetches from the server');
    t.is(config.allowEval, false);
    t.is(config.includeIndicatorStyles, false);
    t.is(config.allowScriptTags, false);
  }
});

test('after logout the back button shows nothing private: the pages re-fetch and the session is gone', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const home = await ua.login('alice', 'alice-password');
  const profile = await ua.navigate('/profile');
  t.regex(profile.body, /alice@example\.test/);
  assertNoStore(t, 'profile', profile);
  const token = readForm(home.body, 'form[action="/logout"]').fields._csrf!;
  t.is((await ua.http.post(ua.url('/logout'), { form: { _csrf: token }, headers: { origin: new URL(stack.appUrl).origin } })).statusCode, 303);
  // What the browser does on "back": reload the no-store page, or htmx asks for the history entry.
  const reload = await ua.http.get(ua.url('/profile'));
  t.is(reload.statusCode, 302);
  const restore = await ua.http.get(ua.url('/profile'), { headers: { 'hx-request': 'true', 'hx-history-restore-request': 'true', 'hx-current-url': ua.url('/profile') } });
  t.is(restore.statusCode, 401);
  const fragment = await ua.hx('/api/hello', '/');
  t.is(fragment.statusCode, 401);
  const homeAgain = await ua.navigate('/');
  for (const res of [reload, restore, fragment, homeAgain]) {
    t.notRegex(res.body, /Alice|alice@example\.test|a1b2c3d4/);
    assertNoStore(t, 'after logout', res);
  }
});

test('regression: answers from every stage carry the security headers (405 before routing, router 405, 404, body limits, malformed input), with HSTS over https', async (t) => {
  const https = await startStack({ env: { ...GENEROUS, BASE_URL: 'https://app.example.test', TRUST_PROXY: '1' } });
  t.teardown(() => https.close());
  for (const [base, secure] of [[stack.appUrl, false], [https.appUrl, true]] as const) {
    const ua = new UserAgent(base, secure ? { 'x-forwarded-proto': 'https' } : {});
    const origin = secure ? 'https://app.example.test' : new URL(base).origin;
    const answers: [string, Res, number][] = [
      ['TRACE (refused before routing)', await ua.http(ua.url('/'), { method: 'TRACE' }), 405],
      ['PROPFIND (refused before routing)', await ua.http(ua.url('/profile'), { method: 'PROPFIND' as 'GET' }), 405],
      ['PUT on a GET route (router 405)', await ua.http.put(ua.url('/profile'), { body: '' }), 405],
      ['DELETE on the package\'s /logout (router 405)', await ua.http.delete(ua.url('/logout')), 405],
      ['GET /callback', await ua.http.get(ua.url('/callback')), 405],
      ['404 page', await ua.http.get(ua.url('/no/such/page')), 404],
      ['404 JSON', await ua.http.get(ua.url('/no/such/page'), { headers: { accept: 'application/json' } }), 404],
      ['body over the limit', await ua.http.post(ua.url('/logout'), { body: `_csrf=${'x'.repeat(200_000)}`, headers: { origin, 'content-type': 'application/x-www-form-urlencoded' } }), 413],
      ['wrong body type', await ua.http.post(ua.url('/callback'), { body: '{}', headers: { 'content-type': 'application/json' } }), 415],
      ['malformed percent-encoding in the path', await ua.http.get(ua.url('/profile%')), 404],
    ];
    for (const [name, res, status] of answers) {
      const label = `${secure ? 'https' : 'http'} ${name}`;
      t.is(res.statusCode, status, label);
      assertSecurityHeaders(t, label, res);
      if (secure) t.regex(String(res.headers['strict-transport-security']), /max-age=\d+/, `${label}: HSTS`);
      else t.is(res.headers['strict-transport-security'], undefined, `${label}: no HSTS over http`);
      if (String(res.headers['content-type']).startsWith('text/html')) t.regex(res.body, /<title>[^<]+<\/title>/, `${label}: a page title`);
    }
  }
});

test('regression: the server\'s own answers to requests Koa never sees (400 malformed, 431 headers too large) carry the security headers', async (t) => {
  // The app's real listener (src/server.ts), as `npm start` runs it, on a free port.
  const running = await listen(stack.app.koa, 0, '127.0.0.1', stack.app.securityHeaders);
  t.teardown(() => running.close(1000));
  const malformed = await send(running.port, { method: 'GET', target: '/a b c', headers: [] });
  const tooLarge = await send(running.port, { method: 'GET', target: '/', headers: [['X-Big', 'x'.repeat(20 * 1024)]] });
  for (const [name, res, status] of [['malformed request line', malformed, 400], ['headers over 16 KiB', tooLarge, 431]] as const) {
    t.is(res.status, status, name);
    t.regex(res.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${name}: CSP`);
    t.is(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`);
  }
  // A normal request on the same listener is Koa's as ever.
  t.is((await send(running.port, { method: 'GET', target: '/healthz', headers: [] })).status, 200);
});
