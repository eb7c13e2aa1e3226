/**
 * Step-up authentication (RFC 9470) over real HTTP with the dev IdP: a route asking for the dev
 * IdP's second-factor acr, and an upstream API (the dev resource server) answering
 * `insufficient_user_authentication`; each through a new login with a one-time code, then with
 * refresh and logout.
 */
import test from 'ava';
import { ACR_MFA } from 'koa-oidc-bff-dev-idp';
import { Agent, readForm } from './helpers/agent.ts';
import { ALICE, startHost, type Host } from './helpers/host.ts';

let apiUrl = '';
const clock = { offset: 0 };

async function host(t: import('ava').ExecutionContext): Promise<Host> {
  const h = await startHost({
    // Access tokens that always need a refresh (ttl 30 s < refreshSkew 60 s): every API call refreshes.
    idp: { apiPort: 0, ttl: { AccessToken: 30 } },
    bff: { now: () => Date.now() + clock.offset * 1000 },
    extend(router, bff) {
      router.get('/api/transfer', bff.requireUser({ acr: ACR_MFA }), (ctx) => {
        ctx.body = { ok: true, sub: bff.user(ctx)!.sub };
      });
      router.get('/transfer', bff.requireUser({ acr: [ACR_MFA] }), (ctx) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><h1>Transfer</h1><form id="logout" method="post" action="/logout"><input type="hidden" name="_csrf" value="${bff.csrfToken(ctx)}"></form>`;
      });
      router.get('/api/recent', bff.requireUser({ maxAge: 300 }), (ctx) => {
        ctx.body = { ok: true };
      });
      router.get('/api/sensitive', bff.requireUser(), async (ctx) => {
        const answer = await bff.callApi(ctx, new URL('/resource/sensitive', apiUrl));
        ctx.status = answer.status;
        ctx.body = JSON.parse(answer.text);
      });
    },
  });
  apiUrl = h.idp.apiUrl!;
  t.teardown(() => h.close());
  return h;
}

/** Follows a step-up login from the app's login URL: password again, then the one-time code. */
async function stepUp(ua: Agent, h: Host, loginUrl: string): Promise<{ authorize: URL; returnedTo: string }> {
  const login = new URL(loginUrl, h.appUrl);
  const start = await ua.http.get(login.href);
  if (start.statusCode !== 302) throw new Error(`login answered ${start.statusCode}`);
  const authorize = new URL(start.headers.location!);
  const returnTo = login.searchParams.get('returnTo') ?? '/';
  // Re-run the IdP part with the same browser: the authorization URL already holds acr_values.
  const { form } = await loginFrom(ua, authorize);
  const callback = await ua.postCallback(form, authorize.origin);
  if (callback.statusCode !== 303) throw new Error(`callback answered ${callback.statusCode}: ${callback.body.slice(0, 300)}`);
  return { authorize, returnedTo: callback.headers.location ?? returnTo };
}

async function loginFrom(ua: Agent, authorize: URL) {
  // Agent.loginUntilCallback starts at the app's login path; here the app already answered.
  let page = await ua.navigate(authorize.href);
  if (!page.body.includes('form') || !readForm(page.body).action.startsWith(ua.appUrl)) {
    const credentials = readForm(page.body, 'form[method="post"]');
    let answer = await ua.http.post(new URL(credentials.action, page.url).href, { form: { ...credentials.fields, username: ALICE.username, password: ALICE.password } });
    if (answer.statusCode >= 300 && answer.statusCode < 400) answer = await ua.navigate(new URL(answer.headers.location!, answer.url).href);
    page = answer;
    const code = /id="otp-code">(\d{6})</.exec(page.body)?.[1];
    if (code) {
      ua.otpPages += 1;
      const otp = readForm(page.body, 'form[method="post"]');
      answer = await ua.http.post(new URL(otp.action, page.url).href, { form: { otp: code } });
      if (answer.statusCode >= 300 && answer.statusCode < 400) answer = await ua.navigate(new URL(answer.headers.location!, answer.url).href);
      page = answer;
    }
  }
  return { form: readForm(page.body) };
}

test.serial('a route asking for acr: htmx 401 + HX-Redirect, JSON 401 insufficient_user_authentication, navigation 302; after the second factor it answers, also after refresh; logout ends it', async (t) => {
  const h = await host(t);
  const ua = new Agent(h.appUrl);
  await ua.login(ALICE, '/page');
  t.is(ua.otpPages, 0, 'a plain login asks for the password only');

  const hx = await ua.hx('/api/transfer', '/page');
  t.is(hx.statusCode, 401);
  const hxLogin = new URL(hx.headers['hx-redirect'] as string, h.appUrl);
  t.is(hxLogin.pathname, '/login');
  t.is(hxLogin.searchParams.get('acr_values'), ACR_MFA);
  t.is(hxLogin.searchParams.get('returnTo'), '/page');

  const json = await ua.json('/api/transfer');
  t.is(json.statusCode, 401);
  t.deepEqual(JSON.parse(json.body), { error: 'insufficient_user_authentication' });

  const nav = await ua.get('/transfer');
  t.is(nav.statusCode, 302);
  const navLogin = new URL(nav.headers.location!, h.appUrl);
  t.is(navLogin.searchParams.get('returnTo'), '/transfer');
  t.is(navLogin.searchParams.get('acr_values'), ACR_MFA);

  const { authorize, returnedTo } = await stepUp(ua, h, navLogin.href);
  t.is(authorize.searchParams.get('acr_values'), ACR_MFA, 'the IdP is asked for the acr');
  t.is(ua.otpPages, 1, 'the IdP asked for the second factor');
  t.is(returnedTo, '/transfer');
  t.is((await ua.get('/transfer')).statusCode, 200);
  const api = await ua.json('/api/transfer');
  t.is(api.statusCode, 200);
  t.like(JSON.parse(api.body), { ok: true, sub: ALICE.sub });

  // Refresh (every call refreshes here) keeps the stronger login: the upstream sees acr MFA.
  const sensitive = await ua.json('/api/sensitive');
  t.is(sensitive.statusCode, 200, sensitive.body);
  t.is(JSON.parse(sensitive.body).acr, ACR_MFA);
  t.is((await ua.json('/api/sensitive')).statusCode, 200, 'after a second refresh too');

  const csrf = readForm((await ua.get('/transfer')).body, 'form#logout').fields._csrf!;
  const logout = await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf }, headers: { origin: h.appUrl } });
  t.is(logout.statusCode, 303);
  t.is((await ua.json('/api/transfer')).statusCode, 401);
  t.deepEqual(JSON.parse((await ua.json('/api/transfer')).body), { error: 'unauthenticated' });
});

test.serial("an upstream's insufficient_user_authentication becomes the same re-authentication, with the upstream's acr_values", async (t) => {
  const h = await host(t);
  const ua = new Agent(h.appUrl);
  await ua.login(ALICE, '/page');
  const hx = await ua.hx('/api/sensitive', '/page');
  t.is(hx.statusCode, 401);
  const login = new URL(hx.headers['hx-redirect'] as string, h.appUrl);
  t.is(login.searchParams.get('acr_values'), ACR_MFA, 'taken from the WWW-Authenticate challenge');
  t.is(login.searchParams.get('returnTo'), '/page');
  const json = await ua.json('/api/sensitive');
  t.is(json.statusCode, 401);
  t.deepEqual(JSON.parse(json.body), { error: 'insufficient_user_authentication' });

  await stepUp(ua, h, login.href);
  t.is(ua.otpPages, 1);
  const after = await ua.json('/api/sensitive');
  t.is(after.statusCode, 200, after.body);
  t.is(JSON.parse(after.body).acr, ACR_MFA);
});

test.serial('an IdP that does not give the acr asked for fails the login (ERR_LOGIN_ACR_UNMET) instead of looping', async (t) => {
  const h = await host(t);
  const ua = new Agent(h.appUrl);
  await ua.login(ALICE, '/page');
  const start = await ua.http.get(ua.url('/login?returnTo=%2Fpage&acr_values=urn%3Aexample%3Aunknown'));
  const { form } = await loginFrom(ua, new URL(start.headers.location!));
  const callback = await ua.http.post(form.action, { form: form.fields, headers: { accept: 'application/json' } });
  t.is(callback.statusCode, 400);
  t.is(JSON.parse(callback.body).error, 'ERR_LOGIN_ACR_UNMET');
});

test.serial('maxAge: a login older than maxAge asks for a new one with max_age; malformed step-up parameters at /login are a 400', async (t) => {
  const h = await host(t);
  const ua = new Agent(h.appUrl);
  await ua.login(ALICE, '/page');
  t.is((await ua.json('/api/recent')).statusCode, 200);
  clock.offset = 301;
  t.teardown(() => (clock.offset = 0));
  const hx = await ua.hx('/api/recent', '/page');
  t.is(hx.statusCode, 401);
  const login = new URL(hx.headers['hx-redirect'] as string, h.appUrl);
  t.is(login.searchParams.get('max_age'), '300');
  t.is(login.searchParams.get('acr_values'), null);
  for (const query of ['max_age=-1', 'max_age=abc', 'acr_values=a%22b', 'acr_values=a&acr_values=b']) {
    t.is((await ua.http.get(ua.url(`/login?${query}`))).statusCode, 400, query);
  }
});

test('requireUser refuses a malformed requirement when the route is declared', async (t) => {
  const h = await host(t);
  t.throws(() => h.bff.requireUser({ acr: 'a"b' }), { instanceOf: TypeError });
  t.throws(() => h.bff.requireUser({ maxAge: 1.5 }), { instanceOf: TypeError });
});
