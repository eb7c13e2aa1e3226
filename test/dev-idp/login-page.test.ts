import test from 'ava';
import { authorizationUrl, Browser, discover, parseForm } from './helpers/browser.ts';
import { CLIENT, startTestIdp, type TestIdp } from './helpers/harness.ts';

let idp: TestIdp;
let authorizationEndpoint: string;
const redirectUri = `${CLIENT.baseUrl}/callback`;

test.before(async () => {
  idp = await startTestIdp();
  authorizationEndpoint = (await discover(idp.issuer)).authorization_endpoint;
});

test.after.always(async () => {
  await idp?.stop();
});

async function openLoginPage() {
  const browser = new Browser();
  const page = await browser.get(authorizationUrl({ authorizationEndpoint, clientId: CLIENT.clientId, redirectUri }).url);
  const action = new URL(/<form method="post" action="([^"]+\/login)"/.exec(page.body)![1]!, page.url).href;
  return { browser, page, action };
}

test('the login page has a POST form with username and password and lists the test accounts', async (t) => {
  const { page } = await openLoginPage();
  t.is(page.statusCode, 200);
  t.regex(page.headers['content-type'] ?? '', /text\/html/);
  t.regex(page.body, /<input id="username" name="username"/);
  t.regex(page.body, /<input id="password" name="password" type="password"/);
  t.regex(page.body, /alice-password/);
  t.regex(String(page.headers['content-security-policy']), /default-src 'none'/);
});

test('regression: an account name holding HTML is shown escaped, never as markup', async (t) => {
  const { page } = await openLoginPage();
  t.true(page.body.includes('&lt;img src=x onerror=alert(1)&gt;'));
  t.false(page.body.includes('<img src=x'));
});

test('a wrong password re-renders the form with an error (401) and the next correct try works', async (t) => {
  const { browser, action } = await openLoginPage();
  const wrong = await browser.post(action, { username: 'alice', password: 'nope' });
  t.is(wrong.statusCode, 401);
  t.regex(wrong.body, /Unknown username or wrong password/);
  t.regex(wrong.body, /name="username" type="text" value="alice"/);
  const unknown = await browser.post(action, { username: '<script>', password: 'x' });
  t.is(unknown.statusCode, 401);
  t.false(unknown.body.includes('value="<script>"'));
  const right = await browser.post(action, { username: 'alice', password: 'alice-password' });
  t.truthy(parseForm(right.body).fields.code);
});

test('cancelling returns error=access_denied to the app through form_post', async (t) => {
  const { browser, action } = await openLoginPage();
  const answer = await browser.post(action.replace(/\/login$/, '/abort'), {});
  const { action: target, fields } = parseForm(answer.body);
  t.is(target, redirectUri);
  t.is(fields.error, 'access_denied');
});

test('dev-idp cookie names start with devidp_ (the app uses bff*; cookies are shared across localhost ports)', async (t) => {
  const { browser, action } = await openLoginPage();
  await browser.post(action, { username: 'alice', password: 'alice-password' });
  const names = (await browser.jar.getCookies(idp.issuer + '/auth/x')).map((c) => c.key);
  t.true(names.includes('devidp_session'));
  t.true(names.every((name) => name.startsWith('devidp_')), names.join(','));
});

test('an unknown interaction shows an error page, not a stack trace', async (t) => {
  const browser = new Browser();
  const page = await browser.get(`${idp.issuer}/interaction/does-not-exist`);
  t.is(page.statusCode, 400);
  t.regex(page.body, /invalid_request|session/);
  t.notRegex(page.body, /\n\s+at |node_modules/);
});
