import test from 'ava';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Browser, browserLogin, discover } from './helpers/browser.ts';
import { CLIENT, startTestIdp, type TestIdp } from './helpers/harness.ts';

let idp: TestIdp;

test.before(async () => {
  idp = await startTestIdp();
});

test.after.always(async () => {
  await idp?.stop();
});

test('response_type=id_token with form_post returns a signed ID token with the claims (localhost redirect allowed in dev)', async (t) => {
  const endpoints = await discover(idp.issuer);
  const redirectUri = `${CLIENT.baseUrl}/callback`;
  const login = await browserLogin(new Browser(), {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri,
    responseType: 'id_token', scope: 'openid profile email', username: 'alice', password: 'alice-password',
  });
  t.is(login.form.action, redirectUri);
  t.is(login.form.fields.state, login.state);
  // oidc-provider sends no `iss` parameter when the response holds an ID token (its `iss` claim does that job).
  t.is(login.form.fields.iss, undefined);
  t.is(login.form.fields.code, undefined);
  const { payload } = await jwtVerify(login.form.fields.id_token!, createRemoteJWKSet(new URL(endpoints.jwks_uri)), {
    issuer: idp.issuer, audience: CLIENT.clientId,
  });
  t.is(payload.nonce, login.nonce);
  t.is(payload.sub, 'alice-sub');
  t.is(payload.name, 'Alice Test');
  t.is(payload.department, 'R&D');
  t.truthy(payload.sid);
});
