/**
 * Issue 8, "Shutdown": on SIGTERM and SIGINT the app (run as `npm run start:app` does) stops accepting
 * connections, lets a request in flight finish, closes the store and exits 0.
 * The request in flight is a real login callback whose token request hangs: the dev-idp is
 * replaced on its port by a server that never answers, and IDP_TIMEOUT=3 ends the wait.
 */
import test, { type ExecutionContext } from 'ava';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevIdp } from '../../dev-idp/index.ts';
import { hangingServer } from '../helpers/outage.ts';
import { spawnApp } from '../helpers/spawn-app.ts';
import { UserAgent } from '../helpers/user-agent.ts';

const CLIENT = { clientId: 'shutdown-test', clientSecret: 'shutdown-test-client-secret' };
// Only a name here: the IdP redirects the form_post to it, and the test posts the fields to the real port.
const BASE_URL = 'http://localhost:3999';

/** A GET on a fresh connection; resolves with the status or the connection error code. */
function probe(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * Starts the dev-idp and the app (`node --import tsx src/main.ts`), logs in up to the form_post page, then
 * replaces the IdP by a server that never answers and posts the callback: a request in flight
 * for IDP_TIMEOUT seconds.
 */
async function requestInFlight(t: ExecutionContext, idpTimeout: number) {
  const idp = await startDevIdp({
    port: 0, host: '127.0.0.1', apiPort: false, logger: () => undefined,
    clients: [{ ...CLIENT, baseUrl: BASE_URL }],
    dataDir: mkdtempSync(path.join(os.tmpdir(), 'bff-idp-')),
  });
  const app = spawnApp({
    NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', BASE_URL, SESSION_STORE: 'memory', IDP_TIMEOUT: String(idpTimeout),
    ISSUER_BASE_URL: idp.issuer, CLIENT_ID: CLIENT.clientId, CLIENT_SECRET: CLIENT.clientSecret,
    SESSION_SECRET: 'a-shutdown-test-session-secret-of-32-bytes-or-more',
  });
  let hanging: Awaited<ReturnType<typeof hangingServer>> | undefined;
  t.teardown(async () => {
    app.kill();
    await hanging?.close();
    await idp.close();
  });
  const { port } = (await app.waitForLog((l) => l.event === 'app.listening')) as { port: number };
  await app.waitForLog((l) => l.event === 'discovery.succeeded');
  const appUrl = `http://localhost:${port}`;

  const ua = new UserAgent(appUrl);
  const form = await ua.loginUntilCallback('alice', 'alice-password', '/profile');
  await idp.close();
  hanging = await hangingServer('127.0.0.1', Number(new URL(idp.issuer).port));

  // The callback is in flight once the app's token request reaches the hanging IdP.
  const inFlight = ua.http.post(`${appUrl}/callback`, { form: form.fields, headers: { origin: 'null' }, timeout: { request: 30_000 } });
  inFlight.catch(() => undefined); // awaited by the test; never an unhandled rejection if it fails early
  await hanging.connected(1);
  return { app, port, inFlight };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test.serial(`${signal}: stops accepting, lets the request in flight finish, closes the store, exits 0`, async (t) => {
    const { app, port, inFlight } = await requestInFlight(t, 3);
    app.child.kill(signal);
    await app.waitForLog((l) => l.event === 'app.stopping');

    t.is(await probe(port), 'ECONNREFUSED', 'no new connections once stopping');
    const callback = await inFlight;
    t.is(callback.statusCode, 502, 'the request in flight got its answer (IdP timeout), not a reset');
    t.is(callback.headers.connection, 'close', 'its keep-alive connection is not kept open to delay the exit');
    const { code, signal: killedBy } = await app.exited;
    t.is(code, 0);
    t.is(killedBy, null);
    const events = app.logs().map((l) => l.event).filter(Boolean);
    t.deepEqual(events.slice(events.indexOf('app.stopping')), ['app.stopping', 'login.failed', 'app.stopped']);
    t.like(app.logs().find((l) => l.event === 'app.stopping'), { signal });
    t.is(app.stderr(), '');
  });
}

test.serial('a request still running after the 10 s grace period is cut, and the app still exits 0', async (t) => {
  const { app, inFlight } = await requestInFlight(t, 60);
  app.child.kill('SIGTERM');
  await t.throwsAsync(inFlight, { code: 'ECONNRESET' });
  t.is((await app.exited).code, 0);
  t.true(app.logs().some((l) => l.event === 'app.stopped'));
});
