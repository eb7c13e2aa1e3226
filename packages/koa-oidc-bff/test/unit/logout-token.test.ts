/**
 * Logout Token validation (Back-Channel Logout 1.0, 2.6), one test per rule, with a local key set
 * standing in for the issuer's JWKS.
 */
import test from 'ava';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload, type JWK } from 'jose';
import { BACKCHANNEL_LOGOUT_EVENT, logoutTokenAlgorithms, LogoutTokenError, verifyLogoutToken } from '../../src/logout/backchannel.ts';

const ISSUER = 'https://idp.example.test';
const CLIENT_ID = 'bff';
const NOW = new Date('2030-01-01T00:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

const issuerKeys = await generateKeyPair('RS256');
const otherKeys = await generateKeyPair('RS256');
const issuerJwk: JWK = { ...(await exportJWK(issuerKeys.publicKey)), kid: 'idp-key', alg: 'RS256', use: 'sig' };
const keys = createLocalJWKSet({ keys: [issuerJwk] });

const valid = (): JWTPayload => ({
  iss: ISSUER, aud: CLIENT_ID, iat: nowSeconds, exp: nowSeconds + 120, jti: 'jti-1', sub: 'alice', sid: 'sid-1',
  events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
});

async function sign(payload: JWTPayload, header: Record<string, unknown> = {}, key = issuerKeys.privateKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: 'idp-key', typ: 'logout+jwt', ...header }).sign(key);
}

const verify = (token: string) => verifyLogoutToken(token, { issuer: ISSUER, clientId: CLIENT_ID, keys, algorithms: ['RS256'], clockTolerance: 30, now: NOW });

async function refused(t: import('ava').ExecutionContext, token: string, reason: string) {
  const err = await t.throwsAsync(verify(token), { instanceOf: LogoutTokenError });
  t.is(err?.reason, reason);
}

test('a valid token yields sid, sub and jti', async (t) => {
  t.like(await verify(await sign(valid())), { iss: ISSUER, sub: 'alice', sid: 'sid-1', jti: 'jti-1', iat: nowSeconds });
});

test('sid alone, or sub alone, is enough', async (t) => {
  const { sub: _sub, ...sidOnly } = valid();
  const { sid: _sid, ...subOnly } = valid();
  t.like(await verify(await sign(sidOnly)), { sid: 'sid-1', sub: undefined });
  t.like(await verify(await sign(subOnly)), { sub: 'alice', sid: undefined });
});

test('neither sid nor sub: refused', async (t) => {
  const { sub: _sub, sid: _sid, ...neither } = valid();
  await refused(t, await sign(neither), 'sub_sid');
});

test('aud audience (array form accepted) must name this client', async (t) => {
  t.truthy(await verify(await sign({ ...valid(), aud: ['other', CLIENT_ID] })));
  await refused(t, await sign({ ...valid(), aud: 'another-client' }), 'aud');
});

test('iss must be the issuer', async (t) => {
  await refused(t, await sign({ ...valid(), iss: 'https://evil.example.test' }), 'iss');
});

test('iat is required, not in the future beyond the tolerance, not older than the maximum age', async (t) => {
  const { iat: _iat, ...noIat } = valid();
  await refused(t, await sign(noIat), 'iat');
  t.truthy(await verify(await sign({ ...valid(), iat: nowSeconds + 20 })), 'within the tolerance');
  await refused(t, await sign({ ...valid(), iat: nowSeconds + 60 }), 'iat');
  await refused(t, await sign({ ...valid(), iat: nowSeconds - 3600, exp: nowSeconds + 60 }), 'expired');
});

test('an expired token (exp) is refused', async (t) => {
  await refused(t, await sign({ ...valid(), iat: nowSeconds - 100, exp: nowSeconds - 60 }), 'expired');
});

test('jti is required', async (t) => {
  const { jti: _jti, ...noJti } = valid();
  await refused(t, await sign(noJti), 'jti');
});

test('events must hold the back-channel logout event as an object', async (t) => {
  const { events: _events, ...noEvents } = valid();
  await refused(t, await sign(noEvents), 'events');
  await refused(t, await sign({ ...valid(), events: { 'http://schemas.openid.net/event/other': {} } }), 'events');
  await refused(t, await sign({ ...valid(), events: { [BACKCHANNEL_LOGOUT_EVENT]: true } }), 'events');
  await refused(t, await sign({ ...valid(), events: [BACKCHANNEL_LOGOUT_EVENT] }), 'events');
});

test('a nonce means an ID token, not a Logout Token: refused', async (t) => {
  await refused(t, await sign({ ...valid(), nonce: 'n-1' }), 'nonce');
});

test('typ: logout+jwt, application/logout+jwt, JWT or none are accepted; another type is refused', async (t) => {
  for (const typ of ['logout+jwt', 'application/logout+jwt', 'JWT', undefined]) {
    t.truthy(await verify(await sign(valid(), { typ })), String(typ));
  }
  await refused(t, await sign(valid(), { typ: 'at+jwt' }), 'typ');
});

test('a signature by another key, a tampered payload, alg none, or a disallowed algorithm: refused', async (t) => {
  await refused(t, await sign(valid(), {}, otherKeys.privateKey), 'signature');
  const [header, , signature] = (await sign(valid())).split('.');
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...valid(), sub: 'bob' })).toString('base64url')}.${signature}`;
  await refused(t, tampered, 'signature');
  await refused(t, new UnsecuredJWT(valid()).encode(), 'alg');
  const hs = await new SignJWT(valid()).setProtectedHeader({ alg: 'HS256', kid: 'idp-key' }).sign(new TextEncoder().encode('x'.repeat(32)));
  await refused(t, hs, 'alg');
});

test('not a JWS (garbage, or five segments like an encrypted JWE): refused', async (t) => {
  await refused(t, 'not-a-jwt', 'malformed');
  await refused(t, 'a.b.c.d.e', 'malformed');
  await refused(t, 'a.b.c', 'malformed');
});

test('only asymmetric algorithms are ever accepted', (t) => {
  t.deepEqual(logoutTokenAlgorithms(['none', 'HS256', 'RS256', 'ES256']), ['RS256', 'ES256']);
  t.deepEqual(logoutTokenAlgorithms(undefined), ['RS256']);
  t.deepEqual(logoutTokenAlgorithms(['HS256']), ['RS256']);
});
