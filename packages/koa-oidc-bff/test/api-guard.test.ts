/**
 * The API header guard: requests under `apiPrefixes` need `HX-Request: true` or `X-CSRF: 1`,
 * even with a valid session cookie (a cross-site form or image cannot send them).
 */
import test from 'ava';
import { Agent } from './helpers/agent.ts';
import { ALICE, startHost, type Host } from './helpers/host.ts';

let host: Host;
let prefixed: Host;
test.before(async () => {
  [host, prefixed] = await Promise.all([
    startHost(),
    startHost({
      bff: { apiPrefixes: ['/data/', '/rpc/'] },
      extend: (router, bff) => {
        router.get('/data/hello', bff.requireUser(), (ctx) => { ctx.body = { user: bff.user(ctx) }; });
        router.get('/rpc/ping', (ctx) => { ctx.body = { pong: true }; });
      },
    }),
  ]);
});
test.after.always(async () => {
  await Promise.all([host?.close(), prefixed?.close()]);
});

test('logged in, GET /api/hello without HX-Request or X-CSRF: 403 ERR_CSRF_HEADER', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const json = await ua.http.get(ua.url('/api/hello'), { headers: { accept: 'application/json' } });
  t.is(json.statusCode, 403);
  t.is(JSON.parse(json.body).error, 'ERR_CSRF_HEADER');
  t.notRegex(json.body, /Alice/);
  // A page (navigation) gets the error page, with the code.
  const page = await ua.get('/api/hello');
  t.is(page.statusCode, 403);
  t.regex(page.body, /ERR_CSRF_HEADER/);
  t.notRegex(page.body, /Alice/);
  // Wrong values are not the headers.
  const wrong = await ua.http.get(ua.url('/api/hello'), { headers: { accept: 'application/json', 'x-csrf': '0', 'hx-request': 'false' } });
  t.is(wrong.statusCode, 403);
  t.is(JSON.parse(wrong.body).error, 'ERR_CSRF_HEADER');
  // With either header it passes.
  t.is((await ua.http.get(ua.url('/api/hello'), { headers: { 'x-csrf': '1' } })).statusCode, 200);
  t.is((await ua.http.get(ua.url('/api/hello'), { headers: { 'hx-request': 'true' } })).statusCode, 200);
});

test('the guard runs before requireUser: an anonymous request without the header is 403, not 401', async (t) => {
  const ua = new Agent(host.appUrl);
  const res = await ua.http.get(ua.url('/api/hello'), { headers: { accept: 'application/json' } });
  t.is(res.statusCode, 403);
  t.is(JSON.parse(res.body).error, 'ERR_CSRF_HEADER');
});

test('the package session endpoint is guarded too', async (t) => {
  const ua = new Agent(host.appUrl);
  await ua.login(ALICE);
  const res = await ua.http.get(ua.url('/api/session'), { headers: { accept: 'application/json' } });
  t.is(res.statusCode, 403);
  t.is(JSON.parse(res.body).error, 'ERR_CSRF_HEADER');
  t.is((await ua.json('/api/session')).statusCode, 200);
});

test('custom apiPrefixes: only those prefixes need the header', async (t) => {
  const ua = new Agent(prefixed.appUrl);
  await ua.login(ALICE);
  const bare = await ua.http.get(ua.url('/data/hello'), { headers: { accept: 'application/json' } });
  t.is(bare.statusCode, 403);
  t.is(JSON.parse(bare.body).error, 'ERR_CSRF_HEADER');
  const ok = await ua.json('/data/hello');
  t.is(ok.statusCode, 200);
  t.is(JSON.parse(ok.body).user.sub, ALICE.sub);
  // Every prefix counts, even on routes that need no login.
  t.is((await ua.http.get(ua.url('/rpc/ping'))).statusCode, 403);
  t.is((await ua.http.get(ua.url('/rpc/ping'), { headers: { 'x-csrf': '1' } })).statusCode, 200);
  // /api/ is no longer a guarded prefix.
  const api = await ua.http.get(ua.url('/api/hello'), { headers: { accept: 'application/json' } });
  t.is(api.statusCode, 200);
  t.deepEqual(JSON.parse(api.body).user.sub, ALICE.sub);
});
