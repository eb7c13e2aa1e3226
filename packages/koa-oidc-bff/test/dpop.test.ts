/**
 * DPoP (RFC 9449) over real HTTP: the dev IdP issues DPoP-bound tokens to a client registered
 * with dpop_bound_access_tokens, its resource server refuses them without a valid proof of the
 * bound key, and callApi proves possession (with nonces when the IdP and API demand them),
 * through refresh and logout.
 */
import test from 'ava';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Agent } from './helpers/agent.ts';
import { ALICE, startHost, type Host } from './helpers/host.ts';

let apiUrl = '';

async function host(t: import('ava').ExecutionContext, dpopNonce: boolean, dpop = true): Promise<Host> {
  const h = await startHost({
    idp: { apiPort: 0, dpopNonce, ttl: { AccessToken: 30 } },
    client: { dpopBoundAccessTokens: true },
    bff: { dpop },
    extend(router, bff) {
      router.get('/api/remote', bff.requireUser(), async (ctx) => {
        const answer = await bff.callApi(ctx, new URL('/resource/hello', apiUrl));
        ctx.status = answer.status;
        ctx.body = JSON.parse(answer.text);
      });
    },
  });
  apiUrl = h.idp.apiUrl!;
  t.teardown(() => h.close());
  return h;
}

async function storedTokens(h: Host): Promise<Record<string, unknown>> {
  const [record] = await h.store.listBySub(ALICE.sub, Date.now());
  return (await h.store.getTokens(record!.id, Date.now()))!;
}

const hello = (authorization: string, dpop?: string) =>
  fetch(`${apiUrl}/resource/hello`, { headers: { authorization, ...(dpop ? { dpop } : {}) } });

async function proof(key: CryptoKey, jwk: Record<string, unknown>, token: string, htu = `${apiUrl}/resource/hello`): Promise<string> {
  const { createHash, randomUUID } = await import('node:crypto');
  return new SignJWT({ htm: 'GET', htu, ath: createHash('sha256').update(token).digest('base64url') })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setIssuedAt().setJti(randomUUID()).sign(key);
}

test.serial('DPoP-bound tokens: refused as Bearer, without a proof or with a proof of another key; callApi proves possession, through refresh and logout', async (t) => {
  const h = await host(t, false);
  const ua = new Agent(h.appUrl);
  await ua.login(ALICE);
  const tokens = await storedTokens(h);
  const accessToken = tokens.accessToken as string;
  t.is(typeof (tokens.dpopKey as { d?: unknown }).d, 'string', 'the session key lives in the token record');
  t.false(JSON.stringify(await ua.cookies()).includes(String((tokens.dpopKey as { x: string }).x)), 'never in a cookie');
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt?: string } };
  t.truthy(payload.cnf?.jkt, 'the access token is bound (cnf.jkt)');

  t.is((await hello(`Bearer ${accessToken}`)).status, 401, 'as a bearer token');
  t.is((await hello(`DPoP ${accessToken}`)).status, 401, 'without a proof');
  const other = await generateKeyPair('ES256', { extractable: true });
  const { d: _d, ...otherPublic } = await exportJWK(other.privateKey);
  t.is((await hello(`DPoP ${accessToken}`, await proof(other.privateKey, otherPublic, accessToken))).status, 401, 'a proof of another key');
  const { importJWK } = await import('jose');
  const { d: _sd, ...sessionPublic } = tokens.dpopKey as Record<string, unknown>;
  const sessionKey = (await importJWK(tokens.dpopKey as Parameters<typeof importJWK>[0], 'ES256')) as CryptoKey;
  t.is((await hello(`DPoP ${accessToken}`, await proof(sessionKey, sessionPublic, accessToken, `${apiUrl}/resource/other`))).status, 401, 'a proof for another URL');
  const accepted = await hello(`DPoP ${accessToken}`, await proof(sessionKey, sessionPublic, accessToken));
  t.is(accepted.status, 200, 'a valid proof of the bound key is accepted');

  // callApi: a fresh proof each time (the API refuses replays); every call refreshes here (ttl 30 s).
  for (let i = 0; i < 3; i++) {
    const remote = await ua.json('/api/remote');
    t.is(remote.statusCode, 200, remote.body);
    t.is(JSON.parse(remote.body).sub, ALICE.sub);
  }
  t.true(h.idp.stats.refreshRequests >= 2, 'the DPoP-bound refresh token was used with proofs');
  const refreshed = await storedTokens(h);
  t.not(refreshed.accessToken, accessToken);
  t.deepEqual(refreshed.dpopKey, tokens.dpopKey, 'one key for the whole session');
  const boundTo = JSON.parse(Buffer.from((refreshed.accessToken as string).split('.')[1]!, 'base64url').toString()).cnf?.jkt;
  t.is(boundTo, payload.cnf!.jkt, 'refreshed tokens are bound to the same key');

  const csrf = await ua.csrfToken();
  t.is((await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf }, headers: { origin: h.appUrl } })).statusCode, 303);
  t.is((await ua.json('/api/remote')).statusCode, 401);
});

test.serial('DPoP nonces: the IdP and the API demand them; login, refresh and callApi retry once with the nonce they were given', async (t) => {
  const h = await host(t, true);
  const ua = new Agent(h.appUrl);
  await ua.login(ALICE);
  const tokens = await storedTokens(h);
  t.truthy(tokens.dpopKey);
  // A proof without the nonce is refused with use_dpop_nonce and a DPoP-Nonce header.
  const accessToken = tokens.accessToken as string;
  const { d: _d, ...pub } = tokens.dpopKey as Record<string, unknown>;
  const { importJWK } = await import('jose');
  const key = (await importJWK(tokens.dpopKey as Parameters<typeof importJWK>[0], 'ES256')) as CryptoKey;
  const refused = await hello(`DPoP ${accessToken}`, await proof(key, pub, accessToken));
  t.is(refused.status, 401);
  t.regex(refused.headers.get('www-authenticate') ?? '', /error="use_dpop_nonce"/);
  t.truthy(refused.headers.get('dpop-nonce'));
  for (let i = 0; i < 2; i++) {
    const remote = await ua.json('/api/remote');
    t.is(remote.statusCode, 200, remote.body);
  }
  t.true(h.idp.stats.refreshRequests >= 1);
});

test.serial('without the dpop option, a client the IdP requires DPoP of cannot log in (the binding is enforced by the IdP)', async (t) => {
  const h = await host(t, false, false);
  const ua = new Agent(h.appUrl);
  const { authorize, form } = await ua.loginUntilCallback('/page', ALICE);
  const callback = await ua.http.post(form.action, { form: form.fields, headers: { origin: authorize.origin, accept: 'application/json' } });
  t.is(callback.statusCode, 502);
  t.is(JSON.parse(callback.body).error, 'ERR_LOGIN_TOKEN_ENDPOINT');
});
