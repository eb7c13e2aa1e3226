import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import test from 'ava';
import got from 'got';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { Browser, browserLogin, discover, parseForm, tokenRequest } from './helpers/browser.ts';
import { startTestIdp, type TestIdp } from './helpers/harness.ts';

// A stand-in for the app: records back-channel logout requests.
const received: string[] = [];
let app: Server;
let idp: TestIdp;
let endpoints: Awaited<ReturnType<typeof discover>>;
let client: { clientId: string; clientSecret: string; baseUrl: string };

test.before(async () => {
  app = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk; });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/backchannel-logout') received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const port = (app.address() as { port: number }).port;
  client = { clientId: 'logout-app', clientSecret: 'logout-app-secret', baseUrl: `http://localhost:${port}` };
  idp = await startTestIdp({ clients: [client] });
  endpoints = await discover(idp.issuer);
});

test.after.always(async () => {
  await idp?.stop();
  app?.closeAllConnections();
  await new Promise((resolve) => app?.close(resolve));
});

async function signIn() {
  const browser = new Browser();
  const redirectUri = `${client.baseUrl}/callback`;
  const login = await browserLogin(browser, {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: client.clientId, redirectUri, username: 'alice', password: 'alice-password',
  });
  const tokens = await tokenRequest(endpoints.token_endpoint, client, {
    grant_type: 'authorization_code', code: login.form.fields.code!, redirect_uri: redirectUri, code_verifier: login.verifier,
  });
  return { browser, tokens: tokens.body };
}

test.serial('end session with id_token_hint: auto-submitting page, back-channel logout with sid, redirect with state', async (t) => {
  const { browser, tokens } = await signIn();
  const url = new URL(endpoints.end_session_endpoint);
  url.search = new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${client.baseUrl}/`, state: 'bye' }).toString();
  const page = await browser.get(url.href);
  t.is(page.statusCode, 200);
  t.regex(page.body, /<input type="hidden" name="logout" value="yes" form="op.logoutForm">/);
  const script = /<script>([^<]*)<\/script>/.exec(page.body)![1]!;
  const hash = createHash('sha256').update(script).digest('base64');
  t.true(String(page.headers['content-security-policy']).includes(`'sha256-${hash}'`), 'CSP allows the auto-submit script');

  const { action, fields } = parseForm(page.body);
  const before = idp.stats.backchannelLogouts;
  const confirm = await browser.http.post(action, { form: { ...fields, logout: 'yes' } });
  t.is(confirm.statusCode, 303);
  t.is(confirm.headers.location, `${client.baseUrl}/?state=bye`);

  t.is(idp.stats.backchannelLogouts - before, 1);
  const logoutToken = received.at(-1)!;
  const { payload } = await jwtVerify(logoutToken, createRemoteJWKSet(new URL(endpoints.jwks_uri)), { issuer: idp.issuer, audience: client.clientId });
  t.is(payload.sub, 'alice-sub');
  t.is(payload.sid, decodeJwt(tokens.id_token!).sid);
  t.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
  t.is(payload.nonce, undefined);
});

test.serial('offline_access refresh tokens outlive the IdP session (Back-Channel Logout 1.0 2.7) until the app revokes them (RFC 7009)', async (t) => {
  const { browser, tokens } = await signIn();
  const page = await browser.get(`${endpoints.end_session_endpoint}?id_token_hint=${tokens.id_token}`);
  const { action, fields } = parseForm(page.body);
  await browser.http.post(action, { form: { ...fields, logout: 'yes' } });
  const refreshed = await tokenRequest(endpoints.token_endpoint, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  t.is(refreshed.statusCode, 200);

  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
  const revoked = await got.post(endpoints.revocation_endpoint, {
    form: { token: refreshed.body.refresh_token!, token_type_hint: 'refresh_token' }, headers: { authorization: `Basic ${basic}` }, throwHttpErrors: false,
  });
  t.is(revoked.statusCode, 200);
  const after = await tokenRequest(endpoints.token_endpoint, client, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token! });
  t.is(after.body.error, 'invalid_grant');
});

test.serial('end session without a hint asks first; "Yes, sign me out" posts logout=yes', async (t) => {
  const { browser } = await signIn();
  const page = await browser.get(`${endpoints.end_session_endpoint}?client_id=${client.clientId}`);
  t.is(page.statusCode, 200);
  t.notRegex(page.body, /<script>/);
  t.regex(page.body, /<button class="primary" type="submit" form="op.logoutForm" name="logout" value="yes"/);
  t.regex(page.body, /Only sign out of logout-app/);
  const { action, fields } = parseForm(page.body);
  const before = idp.stats.backchannelLogouts;
  const done = await browser.post(action, { ...fields, logout: 'yes' });
  t.is(done.statusCode, 200);
  t.regex(done.body, /Signed out/);
  t.is(idp.stats.backchannelLogouts - before, 1);
});

test.serial('end session without an IdP session goes straight through (provider auto-post)', async (t) => {
  const page = await new Browser().get(endpoints.end_session_endpoint);
  t.is(page.statusCode, 200);
  t.is(parseForm(page.body).fields.logout, 'yes');
});
