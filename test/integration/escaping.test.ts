/**
 * Claims shown on the page are escaped (issue 3): an account whose name, and other claims, hold
 * HTML shows that text literally on the page, the profile, the API fragment and the JSON API, and
 * no element or attribute comes from a claim.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { GENEROUS, startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent, type Res } from '../helpers/user-agent.ts';

const NAME = '<img src=x onerror=alert(1)>';
const EMAIL = '"><script>alert(2)</script>@example.test';
const NICKNAME = "'); alert(3); //";
const CLAIM_NAME = '<svg onload=alert(4)>';

let stack: Stack;
test.before(async () => {
  stack = await startStack({
    env: GENEROUS,
    accounts: [{ username: 'html', password: 'html-password', claims: { sub: 'html-sub', name: NAME, email: EMAIL, nickname: NICKNAME, [CLAIM_NAME]: 'x' } }],
  });
});
test.after.always(async () => {
  await stack?.close();
});

/** No element, attribute or script came from the claims. */
function assertInert(t: import('ava').ExecutionContext, where: string, res: Res): ReturnType<typeof parse> {
  t.is(res.statusCode, 200, where);
  const doc = parse(res.body);
  t.is(doc.querySelectorAll('img').length, 0, `${where}: no <img> element`);
  t.is(doc.querySelectorAll('svg').length, 0, `${where}: no <svg> element`);
  t.true(doc.querySelectorAll('script').every((s) => s.getAttribute('src') && s.text.trim() === ''), `${where}: no inline script`);
  t.false(doc.querySelectorAll('*').some((el) => Object.keys(el.attributes).some((a) => /^on/i.test(a))), `${where}: no event handler attribute`);
  t.false(res.body.includes(NAME), `${where}: the raw markup never appears unescaped`);
  return doc;
}

test('the header and home page show the HTML name as text', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  const home = await ua.login('html', 'html-password');
  const doc = assertInert(t, 'home', home);
  t.is(doc.querySelector('[data-testid="user-name"] strong')?.text, NAME);
  t.true(doc.querySelector('#home h1')!.text.includes(NAME));
});

test('the profile page and its fragment show every claim, names and values, as text', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('html', 'html-password');
  for (const [where, res] of [['profile page', await ua.navigate('/profile')], ['profile fragment', await ua.hx('/profile', '/')]] as const) {
    const doc = assertInert(t, where, res);
    const rows = new Map(doc.querySelectorAll('[data-testid="claims"] > .claim').map((claim) => [claim.querySelector('dt')!.text, claim.querySelector('dd')!.text]));
    t.is(rows.get('name'), NAME, where);
    t.is(rows.get('email'), EMAIL, where);
    t.is(rows.get('nickname'), NICKNAME, where);
    t.is(rows.get(CLAIM_NAME), 'x', `${where}: a claim name holding HTML`);
  }
});

test('the API fragment shows the name as text and the JSON API returns it as data', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('html', 'html-password');
  const fragment = await ua.hx('/api/hello', '/');
  const doc = assertInert(t, 'API fragment', fragment);
  t.true(doc.querySelector('[data-testid="api-message"]')!.text.includes(NAME));
  const json = await ua.http.get(ua.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' }, responseType: 'json' });
  t.regex(String(json.headers['content-type']), /^application\/json/);
  t.true((json.body as { message: string }).message.includes(NAME));
  const session = await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1' }, responseType: 'json' });
  t.is((session.body as { user: { name: string } }).user.name, NAME);
});
