/**
 * Cross-site request forgery (issue 3): `/api/*` needs `HX-Request: true` or `X-CSRF: 1`;
 * `POST /logout` needs a same-origin `Origin` (or `Referer` without `Origin`) and the session's
 * CSRF token. Every refusal is a 403 and leaves the session as it was.
 */
import test from 'ava';
import { GENEROUS, startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

let stack: Stack;
let appOrigin: string;
test.before(async () => {
  stack = await startStack({ env: GENEROUS })
  appOrigin = new URL(stack.appUrl).origin;
});
test.after.always(async () => {
  await stack?.close();
});

async function loggedIn(): Promise<{ ua: UserAgent; token: string; id: string }> {
  const ua = new UserAgent(stack.appUrl);
  const page = await ua.login('alice', 'alice-password');
  return { ua, token: readForm(page.body, 'form[action="/logout"]').fields._csrf!, id: (await ua.cookie('bff.sid'))! };
}

async function sessionAlive(ua: UserAgent, id: string): Promise<boolean> {
  const res = await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' } });
  return res.statusCode === 200 && (await stack.store.get(id, Date.now())) !== undefined;
}

for (const path of ['/api/hello', '/api/session']) {
  test(`${path} without HX-Request or X-CSRF is refused with 403, logged in or not`, async (t) => {
    const { ua } = await loggedIn();
    const anonymous = new UserAgent(stack.appUrl);
    for (const [who, agent] of [['logged in', ua], ['anonymous', anonymous]] as const) {
      for (const headers of [{}, { 'hx-request': 'false' }, { 'x-csrf': '0' }, { 'x-csrf': 'true' }, { accept: 'application/json' }]) {
        const res = await agent.http.get(agent.url(path), { headers });
        t.is(res.statusCode, 403, `${who} ${JSON.stringify(headers)}`);
        t.notRegex(res.body, /Alice|a1b2c3d4/, 'nothing of the user in the refusal');
      }
    }
    const json = await ua.http.get(ua.url(path), { headers: { accept: 'application/json' }, responseType: 'json' });
    t.is((json.body as { error: string }).error, 'ERR_CSRF_HEADER');
    t.is((await ua.http.get(ua.url(path), { headers: { 'hx-request': 'true' } })).statusCode, 200);
    t.is((await ua.http.get(ua.url(path), { headers: { 'x-csrf': '1' } })).statusCode, 200);
  });
}

const REFUSED: [string, (token: string, otherToken: string) => { headers: Record<string, string>; form: Record<string, string> }, string][] = [
  ['a cross-site Origin', (token) => ({ headers: { origin: 'https://evil.example' }, form: { _csrf: token } }), 'ERR_CSRF_ORIGIN'],
  ['Origin: null (sandboxed or privacy-redirected form)', (token) => ({ headers: { origin: 'null' }, form: { _csrf: token } }), 'ERR_CSRF_ORIGIN'],
  ['the IdP\'s origin (same site, other origin)', (token) => ({ headers: { origin: 'http://localhost:1' }, form: { _csrf: token } }), 'ERR_CSRF_ORIGIN'],
  ['neither Origin nor Referer', (token) => ({ headers: {}, form: { _csrf: token } }), 'ERR_CSRF_ORIGIN'],
  ['a cross-site Referer and no Origin', (token) => ({ headers: { referer: 'https://evil.example/page' }, form: { _csrf: token } }), 'ERR_CSRF_ORIGIN'],
  ['a cross-site Origin with a same-origin Referer', (token) => ({ headers: { origin: 'https://evil.example', referer: `${appOrigin}/` }, form: { _csrf: token } }), 'ERR_CSRF_ORIGIN'],
  ['no CSRF token', () => ({ headers: { origin: appOrigin }, form: {} }), 'ERR_CSRF_TOKEN'],
  ['a wrong CSRF token', () => ({ headers: { origin: appOrigin }, form: { _csrf: 'abc-not-a-token' } }), 'ERR_CSRF_TOKEN'],
  ['the CSRF token of another session', (_token, other) => ({ headers: { origin: appOrigin }, form: { _csrf: other } }), 'ERR_CSRF_TOKEN'],
];

for (const [name, request, code] of REFUSED) {
  test(`POST /logout with ${name} is refused with 403 ${code} and the session survives`, async (t) => {
    const { ua, token, id } = await loggedIn();
    const other = await loggedIn();
    const { headers, form } = request(token, other.token);
    const res = await ua.http.post(ua.url('/logout'), { form, headers: { accept: 'application/json', ...headers } });
    t.is(res.statusCode, 403);
    t.is((JSON.parse(res.body) as { error: string }).error, code);
    t.false(String(res.headers['set-cookie'] ?? '').includes('bff.sid=;'), 'the cookie is not cleared');
    t.true(await sessionAlive(ua, id), 'the session survives');
  });
}

test('POST /logout with a same-origin Referer (no Origin) and the token logs out', async (t) => {
  const { ua, token, id } = await loggedIn();
  const res = await ua.http.post(ua.url('/logout'), { form: { _csrf: token }, headers: { referer: `${appOrigin}/profile` } });
  t.is(res.statusCode, 303);
  t.false(await sessionAlive(ua, id));
});

test('POST /logout with a same-origin Origin and the token logs out', async (t) => {
  const { ua, token, id } = await loggedIn();
  const res = await ua.http.post(ua.url('/logout'), { form: { _csrf: token }, headers: { origin: appOrigin } });
  t.is(res.statusCode, 303);
  t.false(await sessionAlive(ua, id));
});

test('logout is never a GET', async (t) => {
  const { ua, id } = await loggedIn();
  const res = await ua.http.get(ua.url('/logout'));
  t.true(res.statusCode === 404 || res.statusCode === 405, String(res.statusCode));
  t.true(await sessionAlive(ua, id));
});
