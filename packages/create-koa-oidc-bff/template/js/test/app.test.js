/** Logs in as alice through the dev IdP (in this process, on free ports) and calls the protected route. */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import got from 'got';
import { startDevIdp } from 'koa-oidc-bff-dev-idp';
import { CookieJar } from 'tough-cookie';
import { createApp } from '../src/app.js';

test('alice logs in through the dev IdP and calls the protected JSON route', async (t) => {
  // Listen first (port 0: a free port): the app's URL goes into the IdP's client registration.
  let handle = (_req, res) => res.end();
  const server = createServer((req, res) => handle(req, res)).listen(0, 'localhost');
  await once(server, 'listening');
  const baseUrl = `http://localhost:${server.address().port}`;
  const client = { clientId: 'test-app', clientSecret: 'test-app-secret' };
  const dataDir = await mkdtemp(join(tmpdir(), 'dev-idp-'));
  const idp = await startDevIdp({ port: 0, apiPort: false, dataDir, logger: () => {}, clients: [{ ...client, baseUrl }] });
  const { app, bff } = createApp({ issuer: idp.issuer, baseUrl, ...client, secrets: randomBytes(32).toString('base64url') });
  handle = app.callback();
  t.teardown(async () => {
    server.closeAllConnections();
    server.close();
    await bff.close();
    await idp.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await bff.whenReady();

  const browser = got.extend({ cookieJar: new CookieJar(), retry: { limit: 0 } });
  const json = { headers: { accept: 'application/json', 'x-csrf': '1' } };
  t.is((await browser.get(`${baseUrl}/api/me`, { ...json, throwHttpErrors: false })).statusCode, 401);

  // What a browser does: /login leads to the IdP's login form; after it, the IdP's page posts the result to /callback.
  const loginPage = await browser.get(`${baseUrl}/login?returnTo=/profile`);
  const loginAction = /<form method="post" action="([^"]+\/login)"/.exec(loginPage.body)?.[1];
  const idpAnswer = await browser.post(new URL(loginAction, loginPage.url), { form: { username: 'alice', password: 'alice-password' } });
  const callback = /<form[^>]* action="([^"]+)"/.exec(idpAnswer.body)?.[1];
  const fields = Object.fromEntries([...idpAnswer.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const profile = await browser.post(callback, { form: fields });
  t.is(profile.url, `${baseUrl}/profile`);
  t.regex(profile.body, /Hello, Alice Example/);

  const me = await browser.get(`${baseUrl}/api/me`, json).json();
  t.is(me.sub, 'a1b2c3d4-alice');
  t.is(me.name, 'Alice Example');
});
