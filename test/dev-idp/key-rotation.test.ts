/**
 * The dev-idp's key rotation hook (`idp.keyRotation`), as relying parties see it through the
 * IdP's own endpoints: rotate() publishes new keys in front of the old ones and signs ID tokens
 * with them; retire() removes keys from /jwks; a restart loads the data directory's keys again.
 */
import test from 'ava';
import got from 'got';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Browser, browserLogin, discover, tokenRequest } from './helpers/browser.ts';
import { CLIENT, startTestIdp, tempDir } from './helpers/harness.ts';

const jwksOf = (issuer: string) => got(`${issuer}/jwks`).json<{ keys: Array<{ kid: string; d?: string }> }>();

async function idToken(issuer: string): Promise<string> {
  const endpoints = await discover(issuer);
  const redirectUri = `${CLIENT.baseUrl}/callback`;
  const login = await browserLogin(new Browser(), {
    authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri, username: 'alice', password: 'alice-password',
  });
  const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
    grant_type: 'authorization_code', code: login.form.fields.code!, redirect_uri: redirectUri, code_verifier: login.verifier,
  });
  return tokens.body.id_token!;
}

test('rotate publishes new keys that sign from then on, retire removes the old ones, a restart brings back the stored keys', async (t) => {
  const dir = await tempDir('dev-idp-rotation-');
  t.teardown(() => dir.remove());
  const idp = await startTestIdp({ dataDir: dir.path });
  const stored = (await jwksOf(idp.issuer)).keys.map((k) => k.kid);
  t.deepEqual(idp.keyRotation.kids, stored);
  try {
    const before = await idToken(idp.issuer);
    t.true(stored.includes(decodeProtectedHeader(before).kid!));

    const added = await idp.keyRotation.rotate();
    t.is(added.length, 2);
    const published = await jwksOf(idp.issuer);
    t.deepEqual(published.keys.map((k) => k.kid), [...added, ...stored], 'new keys first, old ones still published');
    t.true(published.keys.every((k) => k.d === undefined), 'public keys only');
    const after = await idToken(idp.issuer);
    t.true(added.includes(decodeProtectedHeader(after).kid!), 'ID tokens are signed with a new key');
    await t.notThrowsAsync(jwtVerify(before, createLocalJWKSet(published as never)), 'tokens signed before still verify');

    idp.keyRotation.retire(stored);
    t.deepEqual((await jwksOf(idp.issuer)).keys.map((k) => k.kid), added);
    t.throws(() => idp.keyRotation.retire(added), { message: /no RS256 signing key/ });
  } finally {
    await idp.stop();
  }
  const restarted = await startTestIdp({ dataDir: dir.path });
  try {
    t.deepEqual((await jwksOf(restarted.issuer)).keys.map((k) => k.kid), stored, 'in memory only');
  } finally {
    await restarted.stop();
  }
});
