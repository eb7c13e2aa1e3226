/**
 * Pushed authorization requests (RFC 9126) and client authentication (client_secret_post,
 * private_key_jwt RFC 7523) over real HTTP with the dev IdP configured for each, with refresh
 * and logout.
 */
import { generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { Agent, readForm } from './helpers/agent.ts';
import { ALICE, CLIENT_ID, CLIENT_SECRET, SECRET, startHost, type Host, type HostOptions } from './helpers/host.ts';
import { checkOptions, createBff } from 'koa-oidc-bff';
import { startDevIdp } from 'koa-oidc-bff-dev-idp';
import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';

async function host(t: import('ava').ExecutionContext, options: HostOptions): Promise<Host> {
  const h = await startHost({
    ...options,
    // Access tokens that always need a refresh: /api/token refreshes at every call.
    idp: { ttl: { AccessToken: 30 }, ...options.idp },
    extend(router, bff) {
      router.get('/api/token', bff.requireUser(), async (ctx) => {
        ctx.body = { length: (await bff.getAccessToken(ctx)).length };
      });
    },
  });
  t.teardown(() => h.close());
  return h;
}

/** Logs in, refreshes twice, logs out: the whole life of a session against the IdP's token endpoint. */
async function lifecycle(t: import('ava').ExecutionContext, h: Host): Promise<URL> {
  const ua = new Agent(h.appUrl);
  const { authorize, form } = await ua.loginUntilCallback('/page', ALICE);
  const callback = await ua.postCallback(form, authorize.origin);
  t.is(callback.statusCode, 303, callback.body);
  t.is((await ua.json('/api/token')).statusCode, 200, 'refresh');
  t.is((await ua.json('/api/token')).statusCode, 200, 'second refresh (rotated refresh token)');
  t.is(h.idp.stats.refreshRequests, 2, 'the refresh_token grant authenticated the client');
  const csrf = await ua.csrfToken();
  const logout = await ua.http.post(ua.url('/logout'), { form: { _csrf: csrf }, headers: { origin: h.appUrl } });
  t.is(logout.statusCode, 303);
  t.is((await ua.json('/api/hello')).statusCode, 401);
  return authorize;
}

test('PAR: with an IdP that requires it, the authorization URL holds only client_id and request_uri; login, refresh and logout work', async (t) => {
  const h = await host(t, { idp: { par: 'required' } });
  const authorize = await lifecycle(t, h);
  t.deepEqual([...authorize.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  t.regex(authorize.searchParams.get('request_uri')!, /^urn:ietf:params:oauth:request_uri:/);
});

test("PAR 'never' against an IdP that requires it: the IdP refuses the plain request (the requirement is real)", async (t) => {
  const h = await host(t, { idp: { par: 'required' }, bff: { pushedAuthorizationRequests: 'never' } });
  const ua = new Agent(h.appUrl);
  const start = await ua.http.get(ua.url('/login?returnTo=/page'));
  const authorize = new URL(start.headers.location!);
  t.truthy(authorize.searchParams.get('redirect_uri'));
  const page = await ua.navigate(authorize.href);
  t.is(page.statusCode, 400);
  t.regex(page.body, /invalid_request/);
});

test("PAR 'always' with an IdP that does not advertise it: whenReady rejects, readiness says the IdP is down and /login answers 503 ERR_IDP_UNSUITABLE", async (t) => {
  await t.throwsAsync(startHost({ bff: { pushedAuthorizationRequests: 'always' } }), { message: /pushed_authorization_request_endpoint/ });
  const idp = await startDevIdp({ port: 0, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: 'http://localhost:1' }], dataDir: mkdtempSync(path.join(os.tmpdir(), 'bff-pkg-idp-')), apiPort: false, logger: () => undefined });
  t.teardown(() => idp.close());
  const bff = createBff({ issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: 'http://localhost:1', secrets: [SECRET], pushedAuthorizationRequests: 'always' });
  t.teardown(() => bff.close());
  await t.throwsAsync(bff.whenReady());
  t.like(await bff.readiness(), { ready: false, checks: { idp: 'down' } });
  const app = new Koa();
  app.use(bff.middleware());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // A client without Fetch Metadata (Node's fetch would send Sec-Fetch-Mode: cors, which /login answers 401).
  const res = await new Agent('http://127.0.0.1').http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/login`, { headers: { accept: 'application/json' } });
  t.is(res.statusCode, 503);
  t.is((JSON.parse(res.body) as { error: string }).error, 'ERR_IDP_UNSUITABLE');
});

test('client_secret_post: login, refresh and logout with a client registered for it (the evil IdP, which accepts Basic only, proves the secret goes in the body: test/integration/client-auth.test.ts)', async (t) => {
  const h = await host(t, { client: { tokenEndpointAuthMethod: 'client_secret_post' }, bff: { clientAuthentication: 'client_secret_post' } });
  await lifecycle(t, h);
});

function ecKey(): { pem: string; jwk: Record<string, unknown> } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, jwk: privateKey.export({ format: 'jwk' }) as Record<string, unknown> };
}

test('private_key_jwt (PEM, with kid): login, refresh and logout; the public JWKS route serves the public key only, with its kid', async (t) => {
  const key = ecKey();
  const { d: _d, ...publicJwk } = key.jwk;
  const h = await host(t, {
    client: { clientSecret: undefined, tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ ...publicJwk, kid: 'app-key-1', alg: 'ES256', use: 'sig' }] } },
    bff: { clientSecret: undefined, clientAuthentication: 'private_key_jwt', clientPrivateKey: key.pem, clientKeyId: 'app-key-1' },
  });
  await lifecycle(t, h);
  const jwks = await fetch(`${h.appUrl}/.well-known/jwks.json`);
  t.is(jwks.status, 200);
  t.is(jwks.headers.get('content-type'), 'application/jwk-set+json');
  const body = (await jwks.json()) as { keys: Record<string, unknown>[] };
  t.deepEqual(body, { keys: [{ ...publicJwk, kid: 'app-key-1', alg: 'ES256', use: 'sig' }] });
  t.deepEqual(h.bff.clientJwks(), body);
});

test('private_key_jwt: the IdP rejects an assertion signed with another key (ERR_LOGIN_TOKEN_ENDPOINT, invalid_client)', async (t) => {
  const registered = ecKey();
  const other = ecKey();
  const { d: _d, ...publicJwk } = registered.jwk;
  const h = await host(t, {
    client: { clientSecret: undefined, tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ ...publicJwk, kid: 'k1' }] } },
    bff: { clientSecret: undefined, clientAuthentication: 'private_key_jwt', clientPrivateKey: JSON.stringify({ ...other.jwk, kid: 'k1' }) },
  });
  const ua = new Agent(h.appUrl);
  const { authorize, form } = await ua.loginUntilCallback('/page', ALICE);
  const callback = await ua.http.post(form.action, { form: form.fields, headers: { origin: authorize.origin, accept: 'application/json' } });
  t.is(callback.statusCode, 502);
  t.is(JSON.parse(callback.body).error, 'ERR_LOGIN_TOKEN_ENDPOINT');
});

test('private_key_jwt combined with PAR: the pushed request is authenticated with the key', async (t) => {
  const key = ecKey();
  const { d: _d, ...publicJwk } = key.jwk;
  const h = await host(t, {
    idp: { par: 'required' },
    client: { clientSecret: undefined, tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ ...publicJwk, kid: 'k1' }] } },
    bff: { clientSecret: undefined, clientAuthentication: 'private_key_jwt', clientPrivateKey: { ...key.jwk, kid: 'k1' } },
  });
  const authorize = await lifecycle(t, h);
  t.deepEqual([...authorize.searchParams.keys()].sort(), ['client_id', 'request_uri']);
});

test('options: private_key_jwt needs a readable private key and no secret; the key never appears in a problem', (t) => {
  const base = { issuer: 'http://localhost:4000', clientId: 'x', baseUrl: 'http://localhost:3000', secrets: ['s'.repeat(32)] };
  const secretKey = '-----BEGIN PRIVATE KEY-----\nTHIS-IS-NOT-A-KEY-BUT-A-SECRET-VALUE\n-----END PRIVATE KEY-----';
  const bad = checkOptions({ ...base, clientAuthentication: 'private_key_jwt', clientSecret: CLIENT_SECRET, clientPrivateKey: secretKey });
  t.false(bad.ok);
  const problems = bad.ok ? [] : bad.problems;
  t.deepEqual(problems.map((p) => p.option).sort(), ['clientPrivateKey', 'clientSecret']);
  t.false(JSON.stringify(problems).includes('THIS-IS-NOT'));
  t.false(checkOptions({ ...base, clientAuthentication: 'private_key_jwt' }).ok);
  t.false(checkOptions({ ...base }).ok, 'the secret methods need clientSecret');
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  t.false(checkOptions({ ...base, clientAuthentication: 'private_key_jwt', clientPrivateKey: weak }).ok, 'RSA below 2048 bits');
  const ok = checkOptions({ ...base, clientAuthentication: 'private_key_jwt', clientPrivateKey: ecKey().pem });
  t.true(ok.ok);
  if (ok.ok) t.regex(ok.options.clientKey!.kid, /^[A-Za-z0-9_-]{43}$/, 'default kid: the RFC 7638 thumbprint');
  void readForm;
});
