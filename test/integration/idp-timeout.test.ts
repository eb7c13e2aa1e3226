/**
 * Issue 8, "IdP outages": every call to the IdP (discovery, token, JWKS) times out after
 * IDP_TIMEOUT seconds, so an IdP that accepts connections and never answers cannot hang a user's
 * request: it ends on an error page. The IdP here is a TCP server that never answers, put on the
 * real dev-idp's port after the login reached the IdP's form_post page.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { hangingServer, idpPort, newIdpDataDir, restartApp, restartIdp } from '../helpers/outage.ts';
import { startStack } from '../helpers/stack.ts';
import { UserAgent, type Res } from '../helpers/user-agent.ts';

// Far above IDP_TIMEOUT=1: a hang detector, not a timing assertion.
const HANG = { request: 30_000 };
const codeOf = (res: Res) => parse(res.body).querySelector('[data-testid="error"]')?.getAttribute('data-code');

for (const responseType of ['code', 'id_token'] as const) {
  const call = responseType === 'code' ? 'token endpoint' : 'JWKS';
  test(`${responseType}: a ${call} that never answers ends the callback on a 502 page after IDP_TIMEOUT`, async (t) => {
    const stack = await startStack({ idpHost: '127.0.0.1', env: { IDP_TIMEOUT: '1', RESPONSE_TYPE: responseType } });
    let hanging: Awaited<ReturnType<typeof hangingServer>> | undefined;
    t.teardown(async () => {
      await hanging?.close();
      await stack.close();
    });
    const ua = new UserAgent(stack.appUrl);
    const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
    await stack.idp.close();
    hanging = await hangingServer('127.0.0.1', idpPort(stack));

    const callback = await ua.http.post(form.action, { form: form.fields, headers: { origin: 'null' }, timeout: HANG });
    t.is(callback.statusCode, 502);
    t.is(codeOf(callback), 'ERR_LOGIN_IDP_UNREACHABLE');
    t.true(hanging.connections >= 1, `the app did call the hanging ${call}`);
    t.true(stack.logs().some((l) => l.event === 'login.failed' && l.reason === 'ERR_LOGIN_IDP_UNREACHABLE' && /timed out/.test(String(l.detail))));
  });
}

test('discovery that never answers: the app starts, /login is a 503 page at once, and login works once the IdP answers again', async (t) => {
  const idpDataDir = newIdpDataDir();
  const stack = await startStack({ idpHost: '127.0.0.1', idpDataDir, env: { IDP_TIMEOUT: '1' } });
  const port = idpPort(stack);
  let hanging: Awaited<ReturnType<typeof hangingServer>> | undefined;
  let idp: Awaited<ReturnType<typeof restartIdp>> | undefined;
  let restarted: ReturnType<typeof restartApp> | undefined;
  t.teardown(async () => {
    await restarted?.close();
    await hanging?.close();
    await idp?.close();
    await stack.close();
  });
  await stack.idp.close();
  hanging = await hangingServer('127.0.0.1', port);
  restarted = restartApp(stack);
  await hanging.connected(1);

  const ua = new UserAgent(stack.appUrl);
  const login = await ua.http.get(ua.url('/login'), { timeout: HANG });
  t.is(login.statusCode, 503);
  t.is(codeOf(login), 'ERR_IDP_UNAVAILABLE');
  t.is((await ua.http.get(ua.url('/readyz'), { timeout: HANG })).statusCode, 503);

  // Discovery attempts time out and are retried: a second connection arrives.
  await hanging.connected(2);
  t.true(restarted.logs().some((l) => l.event === 'discovery.failed' && l.cause === 'TimeoutError'));

  await hanging.close();
  hanging = undefined;
  idp = await restartIdp(stack, idpDataDir);
  await restarted.app.bff.whenReady();
  const landing = await ua.login('alice', 'alice-password', '/profile');
  t.is(landing.statusCode, 200);
});
