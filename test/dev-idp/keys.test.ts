import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import got from 'got';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadOrCreateSigningKeys } from '../../dev-idp/keys.ts';
import { Browser, browserLogin, discover, tokenRequest } from './helpers/browser.ts';
import { CLIENT, startTestIdp, tempDir } from './helpers/harness.ts';

const dirs: Array<{ remove(): Promise<void> }> = [];
test.after.always(async () => {
  await Promise.all(dirs.map((d) => d.remove()));
});

async function freshDir() {
  const dir = await tempDir('dev-idp-keys-');
  dirs.push(dir);
  return dir.path;
}

const jwksOf = (issuer: string) => got(`${issuer}/jwks`).json<{ keys: Array<{ kid: string }> }>();

test('signing keys survive a restart with the same dataDir, so tokens issued before stay valid', async (t) => {
  const dataDir = join(await freshDir(), 'nested', 'data');
  const first = await startTestIdp({ dataDir });
  let idToken: string;
  let firstKids: string[];
  try {
    const endpoints = await discover(first.issuer);
    const redirectUri = `${CLIENT.baseUrl}/callback`;
    const login = await browserLogin(new Browser(), {
      authorizationEndpoint: endpoints.authorization_endpoint, clientId: CLIENT.clientId, redirectUri, username: 'alice', password: 'alice-password',
    });
    const tokens = await tokenRequest(endpoints.token_endpoint, CLIENT, {
      grant_type: 'authorization_code', code: login.form.fields.code!, redirect_uri: redirectUri, code_verifier: login.verifier,
    });
    idToken = tokens.body.id_token!;
    firstKids = (await jwksOf(first.issuer)).keys.map((k) => k.kid);
  } finally {
    await first.stop();
  }
  const second = await startTestIdp({ dataDir });
  try {
    const jwks = await jwksOf(second.issuer);
    t.deepEqual(jwks.keys.map((k) => k.kid), firstKids);
    await t.notThrowsAsync(jwtVerify(idToken, createLocalJWKSet(jwks as never)));
  } finally {
    await second.stop();
  }
  t.is((await stat(join(dataDir, 'jwks.json'))).mode & 0o777, 0o600);
  t.is((await stat(dataDir)).mode & 0o777, 0o700);
});

test('two processes creating keys at once end up with the same keys', async (t) => {
  const dataDir = await freshDir();
  const [a, b] = await Promise.all([loadOrCreateSigningKeys(dataDir), loadOrCreateSigningKeys(dataDir)]);
  t.deepEqual(a.map((k) => k.kid), b.map((k) => k.kid));
  t.deepEqual((await loadOrCreateSigningKeys(dataDir)).map((k) => k.kid), a.map((k) => k.kid));
});

test('a damaged jwks.json is reported clearly instead of being replaced', async (t) => {
  const dataDir = await freshDir();
  await writeFile(join(dataDir, 'jwks.json'), '{"keys": []}');
  await t.throwsAsync(loadOrCreateSigningKeys(dataDir), { message: /jwks\.json is not a private JWKS.*delete it/ });
});
