import test from 'ava';
import got from 'got';
import { discover } from './helpers/browser.ts';
import { startTestIdp, type TestIdp } from './helpers/harness.ts';

let idp: TestIdp;

test.before(async () => {
  idp = await startTestIdp();
});

test.after.always(async () => {
  await idp?.stop();
});

test('the issuer carries the real port and has no trailing slash', (t) => {
  t.regex(idp.issuer, /^http:\/\/localhost:\d+$/);
  t.not(idp.issuer, 'http://localhost:0');
});

test('discovery advertises the endpoints and features the app relies on', async (t) => {
  const doc = await discover(idp.issuer);
  t.is(doc.issuer, idp.issuer);
  t.is(doc.authorization_endpoint, `${idp.issuer}/auth`);
  t.is(doc.token_endpoint, `${idp.issuer}/token`);
  t.is(doc.end_session_endpoint, `${idp.issuer}/session/end`);
  t.is(doc.jwks_uri, `${idp.issuer}/jwks`);
  t.is(doc.revocation_endpoint, `${idp.issuer}/token/revocation`);
  t.true((doc.response_modes_supported as string[]).includes('form_post'));
  t.deepEqual(doc.response_types_supported, ['code', 'id_token']);
  t.deepEqual(doc.code_challenge_methods_supported, ['S256']);
  t.true(doc.backchannel_logout_supported as boolean);
  t.true(doc.backchannel_logout_session_supported as boolean);
  t.true(doc.authorization_response_iss_parameter_supported as boolean); // RFC 9207
  t.true((doc.id_token_signing_alg_values_supported as string[]).includes('RS256'));
});

test('the JWKS publishes public keys only (an RS256 and an ES256 key)', async (t) => {
  const { keys } = await got(`${idp.issuer}/jwks`).json<{ keys: Array<Record<string, string>> }>();
  t.deepEqual(keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  t.true(keys.every((k) => k.d === undefined && typeof k.kid === 'string'));
});

test('startup reports the issuer and a development-only warning through the logger', (t) => {
  t.true(idp.logLines.some((line) => line.includes(idp.issuer)));
  t.true(idp.logLines.some((line) => /DEVELOPMENT ONLY/.test(line)));
});
