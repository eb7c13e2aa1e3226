import { createServer, type Server } from 'node:http';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { findChromium, launchChromium } from '../helpers/chromium.ts';
import { authorizationUrl, discover, tokenRequest } from './helpers/browser.ts';
import { startTestIdp, type TestIdp } from './helpers/harness.ts';

// What only a browser proves: the inline scripts that auto-submit (oidc-provider's form_post page,
// the dev-idp's logout page) are allowed by the dev-idp's Content-Security-Policy.
// Chromium is found as in the e2e suite (CHROMIUM_PATH, else /usr/bin/chromium); without it the
// test is skipped with an install hint, except under CI=true, where a missing browser fails the run.
const chromium = findChromium();
const hasChromium = 'path' in chromium;
const run = hasChromium ? test.serial : test.skip;
if ('missing' in chromium) {
  if (process.env.CI === 'true') test('the dev-idp browser test needs Chromium under CI=true', (t) => t.fail(chromium.missing));
  else test.skip(`dev-idp browser test skipped: ${chromium.missing}`, () => undefined);
}

const posts: Array<{ path: string; body: URLSearchParams }> = [];
let app: Server;
let idp: TestIdp;
let browser: Browser;
let client: { clientId: string; clientSecret: string; baseUrl: string };
const cspViolations: string[] = [];

test.before(async () => {
  if (!hasChromium) return;
  // A stand-in for the app, on another site (localhost) than the IdP (127.0.0.1), as in production.
  app = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk; });
    req.on('end', () => {
      if (req.method === 'POST') posts.push({ path: req.url ?? '', body: new URLSearchParams(body) });
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><p>app</p>');
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  client = { clientId: 'browser-app', clientSecret: 'browser-app-secret', baseUrl: `http://localhost:${(app.address() as { port: number }).port}` };
  idp = await startTestIdp({ host: '127.0.0.1', clients: [client], apiPort: false });
  browser = await launchChromium(chromium.path);
});

test.after.always(async () => {
  await browser?.close();
  await idp?.stop();
  app?.closeAllConnections();
  await new Promise((resolve) => app ? app.close(resolve) : resolve(undefined));
});

run('sign in and out in Chromium: both auto-submitting pages run under the CSP', async (t) => {
  const endpoints = await discover(idp.issuer);
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  const request = authorizationUrl({ authorizationEndpoint: endpoints.authorization_endpoint, clientId: client.clientId, redirectUri: `${client.baseUrl}/callback` });
  await page.goto(request.url);
  await page.fill('#username', 'alice');
  await page.fill('#password', 'alice-password');
  await Promise.all([page.waitForURL(`${client.baseUrl}/callback`), page.click('button.primary')]);
  const callback = posts.find((p) => p.path === '/callback')!;
  t.is(callback.body.get('state'), request.state);
  t.is(callback.body.get('iss'), idp.issuer);

  const tokens = await tokenRequest(endpoints.token_endpoint, client, {
    grant_type: 'authorization_code', code: callback.body.get('code')!, redirect_uri: `${client.baseUrl}/callback`, code_verifier: request.verifier,
  });
  const logout = new URL(endpoints.end_session_endpoint);
  logout.search = new URLSearchParams({ id_token_hint: tokens.body.id_token!, post_logout_redirect_uri: `${client.baseUrl}/`, state: 's1' }).toString();
  await Promise.all([page.waitForURL(`${client.baseUrl}/?state=s1`), page.goto(logout.href)]);
  t.truthy(posts.find((p) => p.path === '/backchannel-logout')?.body.get('logout_token'));
  t.deepEqual(cspViolations, []);
});
