import test from 'ava';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { authorizationUrl, Browser, browserLogin, discover, parseForm, tokenRequest } from './helpers/browser.ts';
import { CLIENT, startTestIdp, type TestIdp } from './helpers/harness.ts';

let idp: TestIdp;
let endpoints: Awaited<ReturnType<typeof discover>>;
const redirectUri = `${CLIENT.baseUrl}/callback`;

test.before(async () => {
  idp = await startTestIdp();
  endpoints = await discover(idp.issuer);
});

test.after.always(async () => {
  await idp?.stop();
});

function login(username = 'alice', password = 'alice-password') {
  return browserLogin(new Browser(), {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri, username, password,
  });
}

async function loginAndRedeem(username?: string, password?: string) {
  const result = await login(username, password);
  const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
    grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: redirectUri, code_verifier: result.verifier,
  });
  return { login: result, tokens };
}

test('code flow with PKCE ends in an auto-submitting form_post to the callback with code, state and iss', async (t) => {
  const { login } = await loginAndRedeem();
  t.is(login.callbackPage.statusCode, 200);
  t.is(login.form.action, redirectUri);
  t.regex(login.callbackPage.body, /document\.forms\[0\]\.submit\(\)/);
  t.truthy(login.form.fields.code);
  t.is(login.form.fields.state, login.state);
  t.is(login.form.fields.iss, idp.issuer); // RFC 9207
});

test('the code redeems (client_secret_basic) for an ID token with every account claim, a refresh token and a JWT access token', async (t) => {
  const { login, tokens } = await loginAndRedeem();
  t.is(tokens.statusCode, 200, JSON.stringify(tokens.body));
  const jwks = createRemoteJWKSet(new URL(endpoints.jwks_uri));
  const { payload: idToken, protectedHeader } = await jwtVerify(tokens.body.id_token!, jwks, { issuer: idp.issuer, audience: CLIENT.clientId });
  t.is(protectedHeader.alg, 'RS256');
  t.is(idToken.sub, 'alice-sub');
  t.is(idToken.nonce, login.nonce);
  t.is(idToken.name, 'Alice Test');
  t.is(idToken.email, 'alice@example.test');
  t.is(idToken.department, 'R&D'); // a custom claim
  t.deepEqual(idToken.roles, ['admin']);
  t.truthy(idToken.sid, 'sid is needed to match back-channel logout tokens');
  t.truthy(tokens.body.refresh_token);
  const accessToken = decodeJwt(tokens.body.access_token!);
  t.is(accessToken.aud, idp.apiAudience);
  t.is(accessToken.client_id, CLIENT.clientId);
});

test('an account name holding HTML arrives in the ID token as the literal string', async (t) => {
  const { tokens } = await loginAndRedeem('html', 'html-password');
  t.is(decodeJwt(tokens.body.id_token!).name, '<img src=x onerror=alert(1)>');
});

test('refresh rotates the refresh token, keeps the API audience and returns a new ID token', async (t) => {
  const { tokens } = await loginAndRedeem();
  const refreshed = await tokenRequest(endpoints.token_endpoint, CLIENT, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! });
  t.is(refreshed.statusCode, 200, JSON.stringify(refreshed.body));
  t.not(refreshed.body.refresh_token, tokens.body.refresh_token);
  t.is(decodeJwt(refreshed.body.access_token!).aud, idp.apiAudience);
  t.is(decodeJwt(refreshed.body.id_token!).sub, 'alice-sub');
  const again = await tokenRequest(endpoints.token_endpoint, CLIENT, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token! });
  t.is(again.statusCode, 200);
});

test('reusing a rotated refresh token is refused (invalid_grant)', async (t) => {
  const { tokens } = await loginAndRedeem();
  const form = { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! };
  t.is((await tokenRequest(endpoints.token_endpoint, CLIENT, form)).statusCode, 200);
  const replay = await tokenRequest(endpoints.token_endpoint, CLIENT, form);
  t.is(replay.statusCode, 400);
  t.is(replay.body.error, 'invalid_grant');
});

test('a code cannot be redeemed without its PKCE verifier', async (t) => {
  const { form } = await login();
  const noVerifier = await tokenRequest(endpoints.token_endpoint, CLIENT, {
    grant_type: 'authorization_code', code: form.fields.code!, redirect_uri: redirectUri,
  });
  t.is(noVerifier.statusCode, 400);
  t.is(noVerifier.body.error, 'invalid_grant');
});

test.serial('stats count token requests by grant type', async (t) => {
  const before = { ...idp.stats };
  const { tokens } = await loginAndRedeem();
  await tokenRequest(endpoints.token_endpoint, CLIENT, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token! });
  t.is(idp.stats.tokenRequests - before.tokenRequests, 2);
  t.is(idp.stats.authorizationCodeRequests - before.authorizationCodeRequests, 1);
  t.is(idp.stats.refreshRequests - before.refreshRequests, 1);
});

test('a second authorization in the same browser is single sign-on: no login page, still a refresh token', async (t) => {
  const browser = new Browser();
  const request = { authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri };
  await browserLogin(browser, { ...request, username: 'alice', password: 'alice-password' });
  const again = authorizationUrl(request);
  const page = await browser.get(again.url);
  const { action, fields } = parseForm(page.body);
  t.is(action, redirectUri);
  const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
    grant_type: 'authorization_code', code: fields.code!, redirect_uri: redirectUri, code_verifier: again.verifier,
  });
  t.is(decodeJwt(tokens.body.id_token!).sub, 'alice-sub');
  t.truthy(tokens.body.refresh_token);
});

test('an explicit prompt other than consent drops offline_access (OIDC Core 11): no refresh token', async (t) => {
  const browser = new Browser();
  const result = await browserLogin(browser, {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri,
    username: 'alice', password: 'alice-password', extra: { prompt: 'login' },
  });
  const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
    grant_type: 'authorization_code', code: result.form.fields.code!, redirect_uri: redirectUri, code_verifier: result.verifier,
  });
  t.is(tokens.statusCode, 200);
  t.is(tokens.body.refresh_token, undefined);
  t.truthy(tokens.body.id_token);
});
