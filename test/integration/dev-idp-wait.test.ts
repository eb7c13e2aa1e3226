/**
 * A clean start prints no warning: when the issuer is the bundled dev-idp (started at the same
 * time by `npm start`), the app waits for it quietly, up to 15 s, and only then warns and retries
 * as usual. Against any other issuer the first failed discovery is logged at once, as before.
 * Through the real entry point (`node --import tsx src/main.ts`).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startDevIdp } from '../../dev-idp/index.ts';
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET } from '../../src/config.ts';
import { freePort } from '../helpers/free-port.ts';
import { spawnApp } from '../helpers/spawn-app.ts';

const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix));
/** The demo's defaults in development (the dev-idp's client and secret, SQLite), on free ports, logging at info. */
const env = (issuerPort: number, extra: Record<string, string> = {}) => ({
  NODE_ENV: 'development', LOG_LEVEL: 'info', PORT: '0', DATA_DIR: tmp('bff-wait-'),
  ISSUER_BASE_URL: `http://localhost:${issuerPort}`, ...extra,
});
const atWarnOrAbove = (lines: Record<string, unknown>[]) => lines.filter((l) => Number(l.level) >= 40);

test('with the dev-idp as issuer, the app waits for it quietly: no warning, then discovery succeeds', async (t) => {
  const idpPort = await freePort();
  const app = spawnApp(env(idpPort, { DEV_IDP_PORT: String(idpPort) }));
  t.teardown(() => app.kill());
  await app.waitForLog((l) => l.event === 'idp.waiting');
  // The dev-idp comes up a while after the app, as under `npm start` on a cold start.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const idp = await startDevIdp({
    port: idpPort, apiPort: false, dataDir: tmp('bff-wait-idp-'), logger: () => undefined,
    clients: [{ clientId: DEV_CLIENT_ID, clientSecret: DEV_CLIENT_SECRET, baseUrl: 'http://localhost:3000' }],
  });
  t.teardown(() => idp.close());
  await app.waitForLog((l) => l.event === 'discovery.succeeded');
  t.deepEqual(atWarnOrAbove(app.logs()), [], 'nothing at warn level or above');
  t.deepEqual(app.logs().filter((l) => l.event === 'discovery.failed'), []);
  t.is(app.logs().find((l) => l.event === 'app.development_mode')?.level, 30, 'the development mode line, at info');
  t.is(app.stderr(), '');
});

test('without the dev-idp, the app gives up waiting after 15 s and then warns and retries as usual', async (t) => {
  t.timeout(45_000);
  const idpPort = await freePort();
  const app = spawnApp(env(idpPort, { DEV_IDP_PORT: String(idpPort) }));
  t.teardown(() => app.kill());
  const waiting = await app.waitForLog((l) => l.event === 'idp.waiting');
  const failed = await app.waitForLog((l) => l.event === 'discovery.failed');
  const waited = Number(failed.time) - Number(waiting.time);
  t.true(waited >= 14_000 && waited < 20_000, `warned after ${waited} ms`);
  t.is(failed.level, 40);
  t.is(failed.cause, 'ECONNREFUSED');
  await app.waitForLog((l) => l.event === 'app.listening');
});

test('against another issuer (not on the dev-idp\'s port), behaviour stays as before: the first failure warns at once', async (t) => {
  const issuerPort = await freePort();
  const started = Date.now();
  // DEV_IDP_PORT unset: the dev-idp would be on 4000, so this loopback issuer is someone else's.
  const app = spawnApp(env(issuerPort));
  t.teardown(() => app.kill());
  const failed = await app.waitForLog((l) => l.event === 'discovery.failed');
  t.true(Date.now() - started < 10_000, 'no waiting');
  t.deepEqual(app.logs().filter((l) => l.event === 'idp.waiting'), []);
  t.is(app.logs().find((l) => l.event === 'app.development_mode')?.level, 40, 'the dev-idp\'s secret sent elsewhere: a warning');
  t.is(failed.level, 40);
});
