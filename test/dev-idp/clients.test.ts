/**
 * Client registration (DevClient): several clients, each with several redirect URIs, its own
 * post-logout redirect URIs, back-channel logout URI and client authentication, next to the
 * `{ clientId, clientSecret, baseUrl }` shorthand the app's tests use.
 */
import { createServer, type Server } from 'node:http';
import test from 'ava';
import got from 'got';
import { decodeJwt } from 'jose';
import { clientMetadata } from '../../dev-idp/clients.ts';
import { startDevIdp, validateClients, type DevClient } from '../../dev-idp/index.ts';
import { authorizationUrl, Browser, browserLogin, discover, parseForm, tokenRequest } from './helpers/browser.ts';
import { startTestIdp, type TestIdp } from './helpers/harness.ts';

// A stand-in for the apps: records every POST (back-channel logout tokens) by path.
const posts: Array<{ path: string; body: URLSearchParams }> = [];
let app: Server;
let idp: TestIdp;
let endpoints: Awaited<ReturnType<typeof discover>>;
let origin: string;
let multi: DevClient & { clientSecret: string; redirectUris: string[]; postLogoutRedirectUris: string[] };
let short: { clientId: string; clientSecret: string; baseUrl: string };
let pub: DevClient & { redirectUris: string[] };

test.before(async () => {
  app = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk; });
    req.on('end', () => {
      if (req.method === 'POST') posts.push({ path: req.url ?? '', body: new URLSearchParams(body) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const port = (app.address() as { port: number }).port;
  origin = `http://localhost:${port}`;
  multi = {
    clientId: 'multi',
    clientSecret: 'multi-secret',
    clientName: 'Multi & Co',
    redirectUris: [`${origin}/cb/one`, `${origin}/cb/two?tenant=a`, `http://127.0.0.1:${port}/alt/callback`],
    postLogoutRedirectUris: [`${origin}/bye`, `${origin}/bye/again`],
    backchannelLogoutUri: `${origin}/hooks/logout`,
    tokenEndpointAuthMethod: 'client_secret_post',
  };
  short = { clientId: 'short', clientSecret: 'short-secret', baseUrl: `${origin}/b/` };
  // baseUrl with explicit redirectUris: the post-logout default stays, back-channel logout is turned off.
  pub = { clientId: 'public', tokenEndpointAuthMethod: 'none', baseUrl: `${origin}/spa`, redirectUris: [`${origin}/spa/oidc`], responseTypes: ['code'], backchannelLogoutUri: null };
  idp = await startTestIdp({ clients: [multi, short, pub] });
  endpoints = await discover(idp.issuer);
});

test.after.always(async () => {
  await idp?.stop();
  app?.closeAllConnections();
  await new Promise((resolve) => app?.close(resolve));
});

function login(client: DevClient, redirectUri: string, browser = new Browser()) {
  return browserLogin(browser, {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: client.clientId, redirectUri, username: 'alice', password: 'alice-password',
  });
}

/** Redeems a code with client_secret_post (RFC 6749 2.3.1): the credentials in the form, no Authorization header. */
function tokenRequestPost(client: { clientId: string; clientSecret?: string | undefined }, form: Record<string, string>) {
  return got.post(endpoints.token_endpoint, {
    form: { ...form, client_id: client.clientId, ...(client.clientSecret ? { client_secret: client.clientSecret } : {}) },
    throwHttpErrors: false, responseType: 'json',
  }) as Promise<import('got').Response<Record<string, string>>>;
}

/** Paths that received a Logout Token for IdP session `sid` (tests run concurrently, so filter by session). */
function logoutsFor(idToken: string): Array<{ path: string; aud: unknown }> {
  const { sid } = decodeJwt(idToken);
  return posts.flatMap((p) => {
    const token = p.body.get('logout_token');
    if (!token) return [];
    const claims = decodeJwt(token);
    return claims.sid === sid ? [{ path: p.path, aud: claims.aud }] : [];
  });
}

/** Ends the IdP session from its logout page ("Yes, sign me out"); answers the final redirect. */
async function endSession(browser: Browser, query: Record<string, string>) {
  const page = await browser.get(`${endpoints.end_session_endpoint}?${new URLSearchParams(query)}`);
  if (page.statusCode !== 200) return page;
  const { action, fields } = parseForm(page.body);
  return browser.http.post(action, { form: { ...fields, logout: 'yes' } });
}

test('every registered redirect_uri of a client is accepted: a real login ends in a form_post to it, and the code redeems there', async (t) => {
  for (const redirectUri of multi.redirectUris) {
    const result = await login(multi, redirectUri);
    t.is(result.form.action, redirectUri, redirectUri);
    t.is(result.form.fields.state, result.state);
    const tokens = await tokenRequestPost(multi, {
      grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: redirectUri, code_verifier: result.verifier,
    });
    t.is(tokens.statusCode, 200, `${redirectUri}: ${JSON.stringify(tokens.body)}`);
    t.is(decodeJwt(tokens.body.id_token!).aud, multi.clientId);
  }
});

test('an unregistered redirect_uri is refused with an error page, never redirected to', async (t) => {
  const unregistered = [
    `${origin}/cb/three`,
    `${origin}/cb/one/`, // exact match only (RFC 9700 2.1)
    `${origin}/cb/two`, // the registered one carries a query
    `${origin}/b/callback`, // another client's
  ];
  for (const redirectUri of unregistered) {
    const page = await new Browser().http.get(authorizationUrl({ authorizationEndpoint: endpoints.authorization_endpoint, clientId: multi.clientId, redirectUri }).url);
    t.is(page.statusCode, 400, redirectUri);
    t.is(page.headers.location, undefined);
    t.regex(page.body, /invalid_redirect_uri/, redirectUri);
  }
});

test('the registration follows the options: redirect, post-logout and back-channel URIs, auth method, name', async (t) => {
  const registered = await idp.provider.Client.find('multi');
  t.deepEqual(registered?.redirectUris, multi.redirectUris);
  t.deepEqual(registered?.postLogoutRedirectUris, multi.postLogoutRedirectUris);
  t.is(registered?.backchannelLogoutUri, `${origin}/hooks/logout`);
  t.true(registered?.backchannelLogoutSessionRequired);
  t.is(registered?.tokenEndpointAuthMethod, 'client_secret_post');
  t.is(registered?.clientName, 'Multi & Co');

  const publicClient = await idp.provider.Client.find('public');
  t.deepEqual(publicClient?.redirectUris, [`${origin}/spa/oidc`]);
  t.is(publicClient?.backchannelLogoutUri, undefined);
  t.deepEqual(publicClient?.postLogoutRedirectUris, [`${origin}/spa/`, `${origin}/spa`]);
  t.deepEqual(publicClient?.responseTypes, ['code']);
  t.deepEqual(publicClient?.grantTypes, ['authorization_code', 'refresh_token']);
  t.is(publicClient?.clientSecret, undefined);
});

test('post_logout_redirect_uri: each registered one is honoured, with a Logout Token to the registered back-channel URI', async (t) => {
  for (const postLogout of multi.postLogoutRedirectUris) {
    const browser = new Browser();
    const result = await login(multi, multi.redirectUris[0]!, browser);
    const tokens = await tokenRequestPost(multi, {
      grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: multi.redirectUris[0]!, code_verifier: result.verifier,
    });
    const done = await endSession(browser, { id_token_hint: tokens.body.id_token!, post_logout_redirect_uri: postLogout, state: 'bye' });
    t.is(done.statusCode, 303);
    t.is(done.headers.location, `${postLogout}?state=bye`);
    // Delivered before the IdP answers, with the session's sid, to this client only.
    t.deepEqual(logoutsFor(tokens.body.id_token!), [{ path: '/hooks/logout', aud: multi.clientId }]);
  }
});

test('an unregistered post_logout_redirect_uri is refused', async (t) => {
  const browser = new Browser();
  const result = await login(multi, multi.redirectUris[0]!, browser);
  const tokens = await tokenRequestPost(multi, {
    grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: multi.redirectUris[0]!, code_verifier: result.verifier,
  });
  for (const uri of [`${origin}/`, `${origin}/b/`, `${origin}/bye/`]) {
    const page = await browser.get(`${endpoints.end_session_endpoint}?${new URLSearchParams({ id_token_hint: tokens.body.id_token!, post_logout_redirect_uri: uri })}`);
    t.is(page.statusCode, 400, uri);
    t.regex(page.body, /post_logout_redirect_uri not registered/, uri);
  }
});

test('the shorthand still registers <baseUrl>/callback, <baseUrl>/ and <baseUrl>/backchannel-logout (trailing slash ignored)', async (t) => {
  const browser = new Browser();
  const result = await login(short, `${origin}/b/callback`, browser);
  t.is(result.form.action, `${origin}/b/callback`);
  const tokens = await tokenRequest(endpoints.token_endpoint, short, {
    grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: `${origin}/b/callback`, code_verifier: result.verifier,
  });
  t.is(tokens.statusCode, 200, JSON.stringify(tokens.body));
  const done = await endSession(browser, { id_token_hint: tokens.body.id_token!, post_logout_redirect_uri: `${origin}/b/` });
  t.is(done.headers.location, `${origin}/b/`);
  t.deepEqual(logoutsFor(tokens.body.id_token!), [{ path: '/b/backchannel-logout', aud: short.clientId }]);
});

test('the shorthand\'s metadata is exactly what it was before redirectUris and friends existed', (t) => {
  t.deepEqual(clientMetadata({ clientId: 'app', clientSecret: 's3cret', baseUrl: 'http://localhost:3000/' }), {
    client_id: 'app',
    client_secret: 's3cret',
    client_name: 'app',
    application_type: 'web',
    redirect_uris: ['http://localhost:3000/callback'],
    post_logout_redirect_uris: ['http://localhost:3000/', 'http://localhost:3000'],
    response_types: ['code', 'id_token'],
    grant_types: ['authorization_code', 'refresh_token', 'implicit'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    backchannel_logout_uri: 'http://localhost:3000/backchannel-logout',
    backchannel_logout_session_required: true,
  });
});

test('a public client (token endpoint auth "none") redeems its code with PKCE alone; backchannelLogoutUri null: no Logout Token', async (t) => {
  const browser = new Browser();
  const redirectUri = pub.redirectUris[0]!;
  const result = await login(pub, redirectUri, browser);
  const tokens = await tokenRequestPost(pub, {
    grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: redirectUri, code_verifier: result.verifier,
  });
  t.is(tokens.statusCode, 200, JSON.stringify(tokens.body));
  const id = await authorizationUrl({ authorizationEndpoint: endpoints.authorization_endpoint, clientId: pub.clientId, redirectUri, responseType: 'id_token' });
  t.is((await browser.http.get(id.url)).statusCode, 400, 'response type id_token is not registered for this client');

  const done = await endSession(browser, { id_token_hint: tokens.body.id_token! });
  t.is(done.statusCode, 303);
  t.regex(done.headers.location ?? '', /\/session\/end\/success$/, 'no post_logout_redirect_uri: the logged-out page');
  t.deepEqual(logoutsFor(tokens.body.id_token!), []);
});

test('invalid clients stop startDevIdp with every problem, by option path', async (t) => {
  const error = await t.throwsAsync(startDevIdp({
    port: 0,
    apiPort: false,
    logger: () => undefined,
    clients: [
      { clientId: 'a', clientSecret: 's' },
      { clientId: 'a', clientSecret: 's', redirectUris: [] },
      { clientId: 'c', redirectUris: ['http://localhost/cb#frag', '/relative'], postLogoutRedirectUris: ['ftp://x/'] },
      { clientId: 'd', clientSecret: 's', tokenEndpointAuthMethod: 'none', baseUrl: 'http://localhost:1', backchannelLogoutUri: 'nope' },
      { clientId: 'e', clientSecret: 's', baseUrl: 'http://localhost:1', responseTypes: ['token' as 'code'], grantTypes: [] },
    ],
  }));
  const message = error!.message;
  t.regex(message, /invalid clients in options\.clients/);
  t.regex(message, /\[0\] needs baseUrl or redirectUris/);
  t.regex(message, /\[1\]\.clientId "a" is a duplicate/);
  t.regex(message, /\[1\]\.redirectUris must be a non-empty array/);
  t.regex(message, /\[2\]\.clientSecret must be a non-empty string/);
  t.regex(message, /\[2\]\.redirectUris\[0\] must not have a fragment/);
  t.regex(message, /\[2\]\.redirectUris\[1\] must be an absolute http\(s\) URL/);
  t.regex(message, /\[2\]\.postLogoutRedirectUris\[0\] must be an absolute http\(s\) URL/);
  t.regex(message, /\[3\]\.clientSecret must be absent with tokenEndpointAuthMethod 'none'/);
  t.regex(message, /\[3\]\.backchannelLogoutUri must be an absolute http\(s\) URL/);
  t.regex(message, /\[4\]\.responseTypes must be a non-empty array of 'code', 'id_token'/);
  t.regex(message, /\[4\]\.grantTypes must be a non-empty array/);
  t.throws(() => validateClients([], 'x.json'), { message: /invalid clients in x\.json:\n {2}- must be a non-empty array/ });
});
