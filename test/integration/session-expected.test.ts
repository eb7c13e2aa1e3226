/**
 * A tab still showing a logged-in page after a logout in another tab (which cleared the shared
 * session cookie) is re-authenticated, not shown the never-logged-in notice: the page sends
 * X-Session-Expected with its htmx requests. The browser proof is e2e journey 7.
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

const sessionHeaders = (html: string) => parse(html).querySelector('body')?.getAttribute('hx-headers');

test('only a page rendered for a logged-in user declares X-Session-Expected', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  t.is(sessionHeaders((await ua.navigate('/')).body), undefined);
  const home = await ua.login();
  t.deepEqual(JSON.parse(sessionHeaders(home.body) ?? 'null'), { 'X-Session-Expected': 'true' });
});

test('no session cookie but X-Session-Expected: 401 + HX-Redirect back to the page, no notice', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.hx('/api/hello', '/?tab=2', { 'x-session-expected': 'true' });
  t.is(res.statusCode, 401);
  t.is(res.headers['hx-redirect'], `/login?returnTo=${encodeURIComponent('/?tab=2')}`);
  t.is(res.body, '');
  t.is(res.headers['set-cookie'], undefined);
});

test('the header grants nothing: without a session it never reaches the API', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.http.get(ua.url('/api/hello'), { headers: { accept: 'application/json', 'x-csrf': '1', 'x-session-expected': 'true' } });
  t.is(res.statusCode, 401);
  t.notRegex(res.body, /Hello/);
});
