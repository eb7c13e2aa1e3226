/**
 * "Your sessions" (GET /sessions, POST /sessions/:ref/end, POST /sessions/end-others) over real
 * HTTP with real logins: the list, ending one or all others (plain forms and htmx), the CSRF
 * defences, and that nobody can end another user's session.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { startStack, type Stack } from '../helpers/stack.ts';
import { readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

// One user per test (tests run concurrently): a user's session list is what each test checks.
const USERS = ['amy', 'ben', 'cat', 'dan', 'eve', 'fay', 'gus', 'hal', 'ida', 'jon', 'kim', 'lea'];
const accounts = USERS.map((name) => ({ username: name, password: `${name}-password`, claims: { sub: `sub-${name}`, name: `User ${name}`, email: `${name}@example.test` } }));

let stack: Stack;
test.before(async () => {
  stack = await startStack({ env: { SESSION_STORE: 'sqlite' }, accounts });
});
test.after.always(async () => {
  await stack?.close();
});

async function loggedIn(username: string, userAgent = CHROME_LINUX): Promise<UserAgent> {
  const ua = new UserAgent(stack.appUrl, { 'user-agent': userAgent });
  await ua.login(username, `${username}-password`, '/');
  return ua;
}

interface Row { ref: string; current: boolean; device: string; endForm: ReturnType<typeof readForm> | undefined }

function rows(html: string): Row[] {
  return parse(html).querySelectorAll('#sessions tbody tr').map((tr) => ({
    ref: tr.getAttribute('data-session') ?? '',
    current: tr.getAttribute('data-current') === 'true',
    device: tr.querySelector('td')!.text.replace('This browser', '').trim(),
    endForm: tr.querySelector('form') ? readForm(tr.toString()) : undefined,
  }));
}

function errorCode(res: Res): string | undefined {
  return parse(res.body).querySelector('[data-testid=error]')?.getAttribute('data-code') ?? undefined;
}

/** 200 while the browser's session lives; 401 once it ended. */
async function sessionStatus(ua: UserAgent): Promise<number> {
  return (await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1', accept: 'application/json' } })).statusCode;
}

test('lists the user\'s live sessions with browser, times and the current one marked, never a session id', async (t) => {
  const first = await loggedIn('amy', CHROME_LINUX);
  const second = await loggedIn('amy', FIREFOX_WINDOWS);
  await loggedIn('ben', SAFARI_IPHONE);
  const page = await first.navigate('/sessions');
  t.is(page.statusCode, 200);
  t.regex(page.headers['content-type'] ?? '', /text\/html/);
  t.is(page.headers['cache-control'], 'no-store');
  const list = rows(page.body);
  t.is(list.length, 2, 'the user\'s two sessions, not another user\'s');
  const current = list.filter((r) => r.current);
  t.is(current.length, 1);
  t.is(current[0]!.device, 'Chrome 156 on Linux');
  t.is(current[0]!.endForm, undefined, 'no "End" button on this browser\'s own row');
  const other = list.find((r) => !r.current)!;
  t.is(other.device, 'Firefox 128 on Windows');
  t.is(other.endForm?.action, `/sessions/${other.ref}/end`);
  t.truthy(other.endForm?.fields._csrf);
  for (const ua of [first, second]) {
    const id = await ua.cookie('bff.sid');
    t.truthy(id);
    t.false(page.body.includes(id!), 'a session id (bearer secret) in the HTML');
  }
  t.is(parse(page.body).querySelectorAll('#sessions td[data-label] time').length, 4, 'started and last active of each');
  t.truthy(parse(page.body).querySelector('header a[href="/sessions"]'), 'linked from the header');
});

test('an htmx request gets the fragment; a visitor is sent to log in', async (t) => {
  const user = await loggedIn('cat');
  const fragment = await user.hx('/sessions', '/');
  t.is(fragment.statusCode, 200);
  t.false(fragment.body.includes('<html'));
  t.truthy(parse(fragment.body).querySelector('#sessions'));
  const visitor = new UserAgent(stack.appUrl);
  const nav = await visitor.http.get(visitor.url('/sessions'));
  t.is(nav.statusCode, 302);
  t.is(nav.headers.location, '/login?returnTo=%2Fsessions');
  const post = await visitor.http.post(visitor.url('/sessions/end-others'), { form: { _csrf: 'x' }, headers: { origin: new URL(stack.appUrl).origin } });
  t.is(post.statusCode, 302);
  t.is(post.headers.location, '/login?returnTo=%2Fsessions', 'back to the list, not to the POST URL');
});

test('ending another session with the plain form takes effect at once', async (t) => {
  const here = await loggedIn('dan', CHROME_LINUX);
  const there = await loggedIn('dan', FIREFOX_WINDOWS);
  t.is(await sessionStatus(there), 200);
  const list = rows((await here.navigate('/sessions')).body);
  const target = list.find((r) => r.device === 'Firefox 128 on Windows' && !r.current)!;
  const response = await here.http.post(here.url(target.endForm!.action), { form: target.endForm!.fields, headers: { origin: new URL(stack.appUrl).origin } });
  t.is(response.statusCode, 303);
  t.is(response.headers.location, '/sessions');
  t.is(await sessionStatus(there), 401, 'the ended session is gone');
  const htmxThere = await there.hx('/api/hello', '/profile');
  t.is(htmxThere.statusCode, 401);
  t.is(htmxThere.headers['hx-redirect'], '/login?returnTo=%2Fprofile', 'answered as an ended session');
  t.is(await sessionStatus(here), 200, 'the current session lives on');
  t.false(rows((await here.navigate('/sessions')).body).some((r) => r.ref === target.ref));
});

test('htmx: ending a session answers the refreshed list in place', async (t) => {
  const here = await loggedIn('eve');
  const there = await loggedIn('eve', SAFARI_IPHONE);
  const target = rows((await here.navigate('/sessions')).body).find((r) => r.device === 'Safari 17 on iOS')!;
  const response = await here.http.post(here.url(target.endForm!.action), {
    form: target.endForm!.fields,
    headers: { origin: new URL(stack.appUrl).origin, 'hx-request': 'true', 'hx-current-url': here.url('/sessions') },
  });
  t.is(response.statusCode, 200);
  t.false(response.body.includes('<html'));
  t.truthy(parse(response.body).querySelector('[data-testid=sessions-notice]'));
  t.false(rows(response.body).some((r) => r.ref === target.ref));
  t.is(await sessionStatus(there), 401);
});

test('"end all other sessions" ends every other session of the user only', async (t) => {
  const here = await loggedIn('fay');
  const others = [await loggedIn('fay', FIREFOX_WINDOWS), await loggedIn('fay', SAFARI_IPHONE)];
  const other = await loggedIn('gus');
  const form = readForm((await here.navigate('/sessions')).body, 'form.end-others');
  t.is(form.action, '/sessions/end-others');
  const listed = await here.submit(here.url(form.action), form.fields);
  t.is(listed.statusCode, 200);
  t.deepEqual(rows(listed.body).map((r) => r.current), [true], 'only this browser is left');
  for (const ua of others) t.is(await sessionStatus(ua), 401);
  t.is(await sessionStatus(here), 200);
  t.is(await sessionStatus(other), 200, 'another user is not touched');
});

test('the forms refuse a missing or wrong CSRF token and a foreign or missing Origin', async (t) => {
  const here = await loggedIn('hal');
  const there = await loggedIn('hal', FIREFOX_WINDOWS);
  const target = rows((await here.navigate('/sessions')).body).find((r) => !r.current && r.device.startsWith('Firefox'))!;
  const url = here.url(target.endForm!.action);
  const origin = new URL(stack.appUrl).origin;
  const attempts: [string, Record<string, string>, Record<string, string>, string][] = [
    ['no token', {}, { origin }, 'ERR_CSRF_TOKEN'],
    ['forged token', { _csrf: 'forged-token' }, { origin }, 'ERR_CSRF_TOKEN'],
    ['foreign Origin', target.endForm!.fields, { origin: 'https://evil.example' }, 'ERR_CSRF_ORIGIN'],
    ['no Origin or Referer', target.endForm!.fields, {}, 'ERR_CSRF_ORIGIN'],
  ];
  for (const [what, form, headers, code] of attempts) {
    const response = await here.http.post(url, { form, headers });
    t.is(response.statusCode, 403, what);
    t.is(errorCode(response), code, what);
  }
  const others = await here.http.post(here.url('/sessions/end-others'), { form: {}, headers: { origin } });
  t.is(others.statusCode, 403);
  t.is(await sessionStatus(there), 200, 'nothing was ended');
});

test('nobody can end another user\'s session, and an unknown reference is a 404', async (t) => {
  const user = await loggedIn('ida');
  const other = await loggedIn('jon');
  const otherRef = rows((await other.navigate('/sessions')).body).find((r) => r.current)!.ref;
  // the user has one session, so no End form: take her token from the header's logout form.
  const csrf = parse((await user.navigate('/sessions')).body).querySelector('input[name=_csrf]')?.getAttribute('value') ?? '';
  t.truthy(csrf);
  for (const ref of [otherRef, 'AAAAAAAAAAAA', 'not a ref', '..%2F..%2Flogout']) {
    const response = await user.http.post(user.url(`/sessions/${ref}/end`), { form: { _csrf: csrf }, headers: { origin: new URL(stack.appUrl).origin } });
    t.is(response.statusCode, 404, ref);
    t.is(errorCode(response), 'ERR_SESSION_NOT_FOUND', ref);
  }
  t.is(await sessionStatus(other), 200, "the other user is still logged in");
});

test('ending this browser\'s own session from the list logs it out locally', async (t) => {
  const here = await loggedIn('kim');
  const csrf = parse((await here.navigate('/sessions')).body).querySelector('input[name=_csrf]')?.getAttribute('value');
  const own = rows((await here.navigate('/sessions')).body).find((r) => r.current)!;
  const response = await here.http.post(here.url(`/sessions/${own.ref}/end`), { form: { _csrf: csrf ?? '' }, headers: { origin: new URL(stack.appUrl).origin } });
  t.is(response.statusCode, 303);
  t.is(response.headers.location, '/');
  t.is(await here.cookie('bff.sid'), undefined, 'cookie cleared');
  t.is(await sessionStatus(here), 401);
});
