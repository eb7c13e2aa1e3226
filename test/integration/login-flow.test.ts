/**
 * The main job end to end over real HTTP: the real dev-idp login form, its real form_post page,
 * /callback, the API, the profile and logout through the IdP's end_session_endpoint — for both
 * response types.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { startStack } from '../helpers/stack.ts';
import { UserAgent, readForm } from '../helpers/user-agent.ts';


for (const responseType of ['code', 'id_token'] as const) {
  test(`${responseType}: log in, call the API, see the profile, log out through the IdP`, async (t) => {
    const stack = await startStack({ env: { RESPONSE_TYPE: responseType } });
    t.teardown(() => stack.close());
    const ua = new UserAgent(stack.appUrl);

    // /login redirects to the authorization endpoint taken from discovery, with form_post, state, nonce (and PKCE for code).
    const start = await ua.http.get(ua.url('/login?returnTo=/profile'));
    t.is(start.statusCode, 302);
    const authorize = new URL(start.headers.location!);
    t.is(`${authorize.origin}${authorize.pathname}`, `${stack.idp.issuer}/auth`);
    t.is(authorize.searchParams.get('response_mode'), 'form_post');
    t.is(authorize.searchParams.get('response_type'), responseType);
    t.is(authorize.searchParams.get('redirect_uri'), `${stack.appUrl}/callback`);
    t.truthy(authorize.searchParams.get('state'));
    t.truthy(authorize.searchParams.get('nonce'));
    if (responseType === 'code') {
      t.is(authorize.searchParams.get('code_challenge_method'), 'S256');
      t.truthy(authorize.searchParams.get('code_challenge'));
    } else {
      t.is(authorize.searchParams.get('code_challenge'), null);
    }

    // The IdP's own login form, then its auto-submitting form_post page.
    const loginPage = await ua.navigate(start.headers.location!);
    t.regex(loginPage.body, /name="username"/);
    const form = await ua.submitCredentials(loginPage, 'alice', 'alice-password');
    t.is(form.action, `${stack.appUrl}/callback`);
    t.is(form.fields.state, authorize.searchParams.get('state')!);
    t.truthy(responseType === 'code' ? form.fields.code : form.fields.id_token);

    const callback = await ua.postCallback(form);
    t.is(callback.statusCode, 303);
    t.is(callback.headers.location, '/profile');
    const sessionCookie = await ua.cookie('bff.sid');
    t.truthy(sessionCookie);

    // The profile page shows the ID token's claims.
    const profile = await ua.navigate('/profile');
    t.is(profile.statusCode, 200);
    const doc = parse(profile.body);
    t.regex(doc.querySelector('[data-testid="user-name"]')!.text, /Alice Example/);
    t.true(doc.querySelectorAll('.claims dt').some((dt) => dt.text === 'email'));
    t.regex(profile.body, /alice@example\.test/);

    // Call API with htmx: the greeting includes the user's name.
    const api = await ua.hx('/api/hello', '/');
    t.is(api.statusCode, 200);
    t.regex(parse(api.body).querySelector('[data-testid="api-message"]')!.text, /Hello, Alice Example!/);

    // The session knows the user and when it expires (seconds since the epoch).
    const session = await ua.http.get(ua.url('/api/session'), { headers: { 'x-csrf': '1', accept: 'application/json' }, responseType: 'json' });
    t.is(session.statusCode, 200);
    const body = session.body as { user: { sub: string; name: string; email: string }; expiresAt: number };
    t.deepEqual(body.user, { sub: 'a1b2c3d4-alice', name: 'Alice Example', email: 'alice@example.test' });
    t.true(body.expiresAt > Date.now() / 1000 && body.expiresAt < Date.now() / 1000 + 8 * 3600 + 5);

    // Log out: a POST with the page's CSRF token, then the IdP's end_session_endpoint, then back here.
    const { logout, final: back } = await ua.logout('/profile');
    t.is(logout.statusCode, 303);
    const endSession = new URL(logout.headers.location!);
    t.is(`${endSession.origin}${endSession.pathname}`, `${stack.idp.issuer}/session/end`);
    t.is(endSession.searchParams.get('post_logout_redirect_uri'), `${stack.appUrl}/`);
    t.truthy(endSession.searchParams.get('id_token_hint'));
    t.falsy(await ua.cookie('bff.sid'), 'logout clears the session cookie');
    t.is(new URL(back.url).origin, stack.appUrl);
    t.is(back.statusCode, 200);
    t.regex(back.body, /Log in/);
    t.notRegex(back.body, /Alice Example/);
    t.is(stack.store.kind, 'memory');
    t.deepEqual(await stack.store.listBySub('a1b2c3d4-alice', Date.now()), [], 'the server-side session is destroyed');

    // The old session is gone: the API answers as for an ended session.
    const after = await ua.hx('/api/hello', '/');
    t.is(after.statusCode, 401);
  });
}

test('the IdP session ends at logout: the next login asks for the password again', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const landing = await ua.login();
  await ua.logout();
  t.is(landing.statusCode, 200);
  const again = await ua.http.get(ua.url('/login'));
  const page = await ua.navigate(again.headers.location!);
  t.true(page.url.startsWith(stack.idp.issuer), 'no silent login after logout');
  t.regex(page.body, /name="password"/);
});

test('a wrong password shows an error at the IdP and nothing reaches the app', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const start = await ua.http.get(ua.url('/login'));
  const loginPage = await ua.navigate(start.headers.location!);
  const login = readForm(loginPage.body, 'form[method="post"]');
  const answer = await ua.submit(new URL(login.action, loginPage.url).href, { ...login.fields, username: 'alice', password: 'wrong' });
  t.true(answer.url.startsWith(stack.idp.issuer));
  t.regex(answer.body, /name="password"/);
  t.false(stack.logs().some((l) => l.path === '/callback'), 'no callback was made');
  t.falsy(await ua.cookie('bff.sid'));
});
