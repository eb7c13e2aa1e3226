/**
 * Issue 16 in the demo: "End all other sessions" protected by step-up (the dev IdP's one-time
 * code), the demo's settings for client authentication, PAR and DPoP, and the hostile IdP's PAR
 * failures (an erroring PAR endpoint, an expired request_uri) and Basic-only token endpoint.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { parse } from 'node-html-parser';
import { loadConfig, ConfigError } from '../../src/config.ts';
import { startStack } from '../helpers/stack.ts';
import { evilLoginUntilCallback, startEvilStack } from '../helpers/evil-stack.ts';
import { isRedirect, readForm, UserAgent, type Res } from '../helpers/user-agent.ts';

const MFA = 'urn:dev-idp:acr:mfa';

/** The IdP part of a login, from the authorization URL to the form_post form, with the one-time code when asked. */
async function throughIdp(ua: UserAgent, authorize: string): Promise<{ action: string; fields: Record<string, string> }> {
  let page: Res = await ua.navigate(authorize);
  const direct = parse(page.body).querySelector('form');
  if (direct?.getAttribute('action')?.endsWith('/callback')) return readForm(page.body);
  const login = readForm(page.body, 'form[method="post"]');
  page = await ua.submit(new URL(login.action, page.url).href, { ...login.fields, username: 'alice', password: 'alice-password' });
  const code = parse(page.body).querySelector('#otp-code')?.text;
  if (code) {
    const otp = readForm(page.body, 'form[method="post"]');
    page = await ua.submit(new URL(otp.action, page.url).href, { otp: code });
  }
  return readForm(page.body);
}

test('"End all other sessions" asks for the second factor first (302 to a login with acr_values), then ends them', async (t) => {
  const stack = await startStack({ env: { STEP_UP_ACR: MFA } });
  t.teardown(() => stack.close());
  const here = new UserAgent(stack.appUrl);
  await here.login();
  const there = new UserAgent(stack.appUrl);
  await there.login();
  const origin = new URL(stack.appUrl).origin;
  const form = readForm((await here.navigate('/sessions')).body, 'form.end-others');
  const refused = await here.http.post(here.url(form.action), { form: form.fields, headers: { origin } });
  t.is(refused.statusCode, 302);
  const login = new URL(refused.headers.location!, stack.appUrl);
  t.is(login.pathname, '/login');
  t.is(login.searchParams.get('returnTo'), '/sessions', 'back to the list, not to the POST URL');
  t.is(login.searchParams.get('acr_values'), MFA);
  const hx = await here.http.post(here.url(form.action), { form: form.fields, headers: { origin, 'hx-request': 'true', 'hx-current-url': here.url('/sessions') } });
  t.is(hx.statusCode, 401);
  t.truthy(hx.headers['hx-redirect']);
  t.is((await there.http.get(there.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 200, 'nothing ended yet');

  const start = await here.http.get(login.href);
  const callback = await here.postCallback(await throughIdp(here, start.headers.location!));
  t.is(callback.statusCode, 303);
  t.is(callback.headers.location, '/sessions');
  const again = readForm((await here.navigate('/sessions')).body, 'form.end-others');
  const ended = await here.http.post(here.url(again.action), { form: again.fields, headers: { origin } });
  t.is(ended.statusCode, 303);
  t.is((await there.http.get(there.url('/api/session'), { headers: { 'x-csrf': '1' } })).statusCode, 401, 'the other session ended');
});

test('demo settings: private_key_jwt from a key file is read; PAR and DPoP against the dev IdP (pushed request, DPoP-bound call to the dev API)', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-key-'));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = path.join(dir, 'client-key.pem');
  writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(40), CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_PRIVATE_KEY_FILE: keyFile, CLIENT_KEY_ID: 'demo-key', DPOP: '1', PUSHED_AUTHORIZATION_REQUESTS: 'always' });
  t.is(config.clientAuthMethod, 'private_key_jwt');
  t.is(config.clientSecret, '');
  t.true(config.dpop);
  // The stack's IdP registers CLIENT_SECRET's client; with private_key_jwt it would need the JWKS
  // (covered by the package's tests). Here: PAR and DPoP through the demo's settings.
  const stack = await startStack({ env: { PUSHED_AUTHORIZATION_REQUESTS: 'always', DPOP: '1' }, api: true, idpPar: 'required' });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const start = await ua.http.get(ua.url('/login?returnTo=%2F'));
  t.deepEqual([...new URL(start.headers.location!).searchParams.keys()].sort(), ['client_id', 'request_uri']);
  const callback = await ua.postCallback(await throughIdp(ua, start.headers.location!));
  t.is(callback.statusCode, 303);
  const remote = await ua.http.get(ua.url('/api/remote/hello'), { headers: { 'hx-request': 'true', 'hx-current-url': ua.url('/') } });
  t.is(remote.statusCode, 200, remote.body);
  t.regex(remote.body, /Hello from the remote API/);
});

test('CLIENT_PRIVATE_KEY problems name the setting and never echo the key', (t) => {
  const key = '-----BEGIN PRIVATE KEY-----\nNOT-A-KEY-BUT-SECRET-MATERIAL\n-----END PRIVATE KEY-----';
  const err = t.throws(() => loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(40), CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_PRIVATE_KEY: key }), { instanceOf: ConfigError })!;
  t.regex(err.message, /CLIENT_PRIVATE_KEY/);
  t.false(err.message.includes('NOT-A-KEY'));
  t.throws(() => loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(40), CLIENT_AUTH_METHOD: 'private_key_jwt' }), { message: /CLIENT_PRIVATE_KEY or CLIENT_PRIVATE_KEY_FILE|CLIENT_PRIVATE_KEY: or CLIENT_PRIVATE_KEY_FILE/ });
  t.throws(() => loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(40), CLIENT_PRIVATE_KEY: key }), { message: /CLIENT_AUTH_METHOD/ });
});

test('hostile IdP: a PAR endpoint that errors gives 503 ERR_IDP_PAR_FAILED at /login (no redirect to the IdP)', async (t) => {
  const stack = await startEvilStack({ idp: { par: true }, scenario: { parResponse: { status: 400, body: { error: 'invalid_request', error_description: 'no' } } } });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const res = await ua.http.get(ua.url('/login?returnTo=%2F'), { headers: { accept: 'application/json' } });
  t.is(res.statusCode, 503);
  t.is(JSON.parse(res.body).error, 'ERR_IDP_PAR_FAILED');
  t.false(isRedirect(res));
  t.is(stack.idp.stats.parRequests, 1);
  t.is(stack.idp.stats.authorizationRequests, 0);
  t.false(stack.logText().includes('client_secret'), 'nothing secret in the log');
});

test('hostile IdP: an expired request_uri comes back as invalid_request_uri: 400 ERR_LOGIN_IDP_ERROR with "Try again"', async (t) => {
  const stack = await startEvilStack({ idp: { par: true }, scenario: { parExpiresIn: 0 } });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const form = await evilLoginUntilCallback(ua, '/profile');
  t.is(form.fields.error, 'invalid_request_uri');
  const res = await ua.http.post(form.action, { form: form.fields, headers: { origin: 'null', accept: 'application/json' } });
  t.is(res.statusCode, 400);
  t.is(JSON.parse(res.body).error, 'ERR_LOGIN_IDP_ERROR');
  // A valid PAR login through the same IdP works: the harness is not the failure.
  stack.idp.scenario = {};
  const ok = await evilLoginUntilCallback(ua, '/');
  t.is((await ua.postCallback(ok)).statusCode, 303);
});

test('hostile IdP accepting only client_secret_basic: CLIENT_AUTH_METHOD=client_secret_post really sends the secret in the body (invalid_client)', async (t) => {
  const stack = await startEvilStack({ env: { CLIENT_AUTH_METHOD: 'client_secret_post' } });
  t.teardown(() => stack.close());
  const ua = new UserAgent(stack.appUrl);
  const form = await evilLoginUntilCallback(ua, '/');
  const res = await ua.http.post(form.action, { form: form.fields, headers: { origin: 'null', accept: 'application/json' } });
  t.is(res.statusCode, 502);
  t.is(JSON.parse(res.body).error, 'ERR_LOGIN_TOKEN_ENDPOINT');
});

test('hostile IdP without DPoP support: DPOP=1 makes the app refuse it at startup (whenReady rejects)', async (t) => {
  const err = await t.throwsAsync(startEvilStack({ env: { DPOP: '1' } }));
  t.regex(err!.message, /dpop_signing_alg_values_supported/);
});
