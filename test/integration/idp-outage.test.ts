/**
 * Issue 8, "IdP outages" and "Health": the app starts while the IdP is down (discovery retried in
 * the background), `/login` answers a 503 page meanwhile, logged-in users keep working, and login
 * works again when the IdP is back, with no restart. `/readyz` names what is down.
 * The real dev-idp is stopped and started again on the same port with the same keys.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { newIdpDataDir, restartApp, restartIdp } from '../helpers/outage.ts';
import { startStack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

test('readyz: 200 when discovery is loaded and the store answers; 503 naming the store when it does not', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const ready = await ua.http.get(ua.url('/readyz'));
  t.is(ready.statusCode, 200);
  t.deepEqual(json(ready.body), { status: 'ready', checks: { idp: 'up', store: 'up' } });

  // The store stops answering (as a Redis that went away would: ping rejects).
  const ping = stack.store.ping;
  stack.store.ping = () => Promise.reject(new Error('connection refused'));
  t.teardown(() => { stack.store.ping = ping; });
  const down = await ua.http.get(ua.url('/readyz'));
  t.is(down.statusCode, 503);
  t.deepEqual(json(down.body), { status: 'unavailable', checks: { idp: 'up', store: 'down' } });
  t.is((await ua.http.get(ua.url('/healthz'))).statusCode, 200, 'healthz checks no dependency');
});

test('the IdP goes down, the app restarts meanwhile, the IdP comes back: users keep working, /login is a 503 page, then login works with no restart', async (t) => {
  const idpDataDir = newIdpDataDir();
  const stack = await startStack({ idpDataDir });
  let second: Awaited<ReturnType<typeof restartIdp>> | undefined;
  let restarted: ReturnType<typeof restartApp> | undefined;
  t.teardown(async () => {
    await restarted?.close();
    await second?.close();
    await stack.close();
  });
  const alice = new UserAgent(stack.appUrl);
  await alice.login('alice', 'alice-password');

  // 1. The IdP goes down: a logged-in user keeps working.
  await stack.idp.close();
  t.is((await alice.hx('/api/hello')).statusCode, 200);

  // 2. The app restarts while the IdP is down: it starts anyway, discovery retries in the background.
  restarted = restartApp(stack);
  const ready = await alice.http.get(alice.url('/readyz'));
  t.is(ready.statusCode, 503);
  t.deepEqual(json(ready.body), { status: 'unavailable', checks: { idp: 'down', store: 'up' } });

  // /login: a 503 page saying the IdP cannot be reached, no redirect anywhere.
  const visitor = new UserAgent(stack.appUrl);
  const login = await visitor.http.get(visitor.url('/login?returnTo=/profile'));
  t.is(login.statusCode, 503);
  t.regex(String(login.headers['content-type']), /^text\/html/);
  const error = parse(login.body).querySelector('[data-testid="error"]');
  t.is(error?.getAttribute('data-code'), 'ERR_IDP_UNAVAILABLE');
  t.regex(error!.textContent, /identity provider cannot be reached/i);
  t.regex(error!.textContent, /try again in a moment/i);
  t.deepEqual((await visitor.jar.getCookies(stack.appUrl)).map((c) => c.key), [], 'no transaction cookie, no session');
  const jsonLogin = await visitor.http.get(visitor.url('/login'), { headers: { accept: 'application/json' } });
  t.is(jsonLogin.statusCode, 503);
  t.is(json(jsonLogin.body).error, 'ERR_IDP_UNAVAILABLE');

  // Logged-in users keep working on the restarted app (the session is in the store).
  t.is((await alice.hx('/api/hello')).statusCode, 200);
  t.is((await alice.navigate('/profile')).statusCode, 200);
  const session = await alice.http.get(alice.url('/api/session'), { headers: { 'x-csrf': '1' } });
  t.is(session.statusCode, 200);

  const logs = restarted.logs();
  t.true(logs.some((l) => l.event === 'discovery.failed' && l.cause === 'ECONNREFUSED'), 'discovery failures are logged with their cause');
  t.true(logs.some((l) => l.event === 'login.failed' && l.reason === 'ERR_IDP_UNAVAILABLE'));

  // 3. The IdP comes back (same port, same keys): discovery succeeds on its own, login works.
  second = await restartIdp(stack, idpDataDir);
  await restarted.app.bff.whenReady();
  t.is((await alice.http.get(alice.url('/readyz'))).statusCode, 200);
  const bob = new UserAgent(stack.appUrl);
  const landing = await bob.login('bob', 'bob-password', '/profile');
  t.is(landing.statusCode, 200);
  t.is((await bob.hx('/api/hello')).statusCode, 200);
  t.is((await alice.hx('/api/hello')).statusCode, 200, 'the earlier session still works');
  t.true(restarted.logs().some((l) => l.event === 'discovery.succeeded'));
});

test('a callback while the IdP is down ends on a 502 error page with "Try again", and works again once it is back', async (t) => {
  const idpDataDir = newIdpDataDir();
  const stack = await startStack({ idpDataDir });
  let second: Awaited<ReturnType<typeof restartIdp>> | undefined;
  t.teardown(async () => {
    await second?.close();
    await stack.close();
  });
  const ua = new UserAgent(stack.appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
  await stack.idp.close();
  const callback = await ua.postCallback(form);
  t.is(callback.statusCode, 502);
  const error = parse(callback.body).querySelector('[data-testid="error"]');
  t.is(error?.getAttribute('data-code'), 'ERR_LOGIN_IDP_UNREACHABLE');
  t.is(error?.querySelector('a.button')?.getAttribute('href'), '/login?returnTo=%2Fprofile');
  t.is(await ua.cookie('bff.sid'), undefined, 'no session');

  second = await restartIdp(stack, idpDataDir);
  const landing = await ua.login('alice', 'alice-password', '/profile');
  t.is(landing.statusCode, 200);
  t.true(landing.url.endsWith('/profile'));
});
