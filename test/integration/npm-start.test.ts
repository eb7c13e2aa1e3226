/**
 * `npm start` with its defaults wired together: the app and the dev-idp start, a login works
 * end to end, and one Ctrl-C (SIGINT to the process group) stops both.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { freePorts, waitForOk } from '../helpers/free-port.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('npm start serves the login flow, and one SIGINT stops both servers', async (t) => {
  const [appPort, idpPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bff-start-'));
  const child = spawn('npm', ['start'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(appPort),
      DEV_IDP_PORT: String(idpPort),
      DEV_API_PORT: String(apiPort),
      ISSUER_BASE_URL: `http://localhost:${idpPort}`,
      REMOTE_API_URL: `http://localhost:${apiPort}`,
      DATA_DIR: dataDir,
      SESSION_SQLITE_PATH: path.join(dataDir, 'sessions.sqlite'),
      LOG_LEVEL: 'warn',
    },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  try {
    await waitForOk(`http://localhost:${idpPort}/.well-known/openid-configuration`, 60_000);
    await waitForOk(`http://localhost:${appPort}/readyz`, 60_000);
  } catch (err) {
    t.fail(`${String(err)}\n${output}`);
    return;
  }
  const ua = new UserAgent(`http://localhost:${appPort}`);
  const landing = await ua.login('alice', 'alice-password', '/profile');
  t.is(landing.statusCode, 200);
  t.regex(landing.body, /Alice Example/);

  process.kill(-child.pid!, 'SIGINT');
  await exited;
  for (const port of [appPort, idpPort]) {
    await t.throwsAsync(fetch(`http://localhost:${port}/healthz`, { signal: AbortSignal.timeout(2000) }), undefined, `port ${port} is closed`);
  }
});
