import test from 'ava';
import got from 'got';
import { SignJWT, generateKeyPair } from 'jose';
import { Browser, browserLogin, discover, tokenRequest } from './helpers/browser.ts';
import { CLIENT, startTestIdp, type TestIdp } from './helpers/harness.ts';

let idp: TestIdp;
let accessToken: string;
let idToken: string;

test.before(async () => {
  idp = await startTestIdp();
  const endpoints = await discover(idp.issuer);
  const redirectUri = `${CLIENT.baseUrl}/callback`;
  const login = await browserLogin(new Browser(), {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri, username: 'alice', password: 'alice-password',
  });
  const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
    grant_type: 'authorization_code', code: login.form.fields.code!, redirect_uri: redirectUri, code_verifier: login.verifier,
  });
  accessToken = tokens.body.access_token!;
  idToken = tokens.body.id_token!;
});

test.after.always(async () => {
  await idp?.stop();
});

const hello = (authorization?: string) => got(`${idp.apiUrl}/resource/hello`, {
  headers: authorization ? { authorization } : {}, throwHttpErrors: false, responseType: 'json',
});

test('the dev API answers a real access token with the caller', async (t) => {
  const response = await hello(`Bearer ${accessToken}`);
  t.is(response.statusCode, 200);
  t.deepEqual(response.body, { message: 'Hello from the remote API', sub: 'alice-sub', scope: 'openid profile email offline_access', client_id: CLIENT.clientId, acr: 'urn:dev-idp:acr:pwd' });
});

test('no token: 401 with a bare Bearer challenge (RFC 6750 3.1)', async (t) => {
  const response = await hello();
  t.is(response.statusCode, 401);
  t.is(response.headers['www-authenticate'], 'Bearer realm="dev-api"');
});

test('a forged token (right claims, wrong key) is rejected with invalid_token', async (t) => {
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT({ client_id: CLIENT.clientId, scope: 'openid' })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' })
    .setIssuer(idp.issuer).setAudience(idp.apiAudience!).setSubject('alice-sub').setIssuedAt().setExpirationTime('5m')
    .sign(privateKey);
  const response = await hello(`Bearer ${forged}`);
  t.is(response.statusCode, 401);
  t.regex(String(response.headers['www-authenticate']), /^Bearer realm="dev-api", error="invalid_token"/);
  t.is((response.body as { error: string }).error, 'invalid_token');
});

test('garbage, another scheme and the ID token (wrong typ and audience) are rejected', async (t) => {
  t.is((await hello('Bearer not-a-jwt')).statusCode, 401);
  t.is((await hello(`Basic ${accessToken}`)).statusCode, 401);
  t.is((await hello(`Bearer ${idToken}`)).statusCode, 401);
});

test('apiPort false starts no API and issues opaque access tokens', async (t) => {
  const noApi = await startTestIdp({ apiPort: false });
  try {
    t.is(noApi.apiUrl, undefined);
    t.is(noApi.apiAudience, undefined);
    const endpoints = await discover(noApi.issuer);
    const redirectUri = `${CLIENT.baseUrl}/callback`;
    const login = await browserLogin(new Browser(), {
      authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri, username: 'alice', password: 'alice-password',
    });
    const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
      grant_type: 'authorization_code', code: login.form.fields.code!, redirect_uri: redirectUri, code_verifier: login.verifier,
    });
    t.is(tokens.statusCode, 200);
    t.is(tokens.body.access_token!.split('.').length, 1, 'opaque, not a JWT');
    t.truthy(tokens.body.refresh_token);
  } finally {
    await noApi.stop();
  }
});
