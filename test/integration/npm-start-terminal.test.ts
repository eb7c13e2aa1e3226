/**
 * The first five minutes: `npm start` in a terminal (a real pseudo-terminal made by util-linux
 * `script`, as in log-format.test.ts). Its first line says where to go, both servers write
 * readable, coloured lines told apart by a prefix, a clean start prints no warning or error, and
 * Ctrl-C typed into the terminal stops both. (Piped, the app's lines stay JSON: npm-start.test.ts
 * and npm-start-signals.test.ts read them.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { freePorts } from '../helpers/free-port.ts';
import { ROOT } from '../helpers/spawn-app.ts';

const ANSI = /\x1b\[[0-9;]*m/g;

test('npm start in a terminal: where to go first, coloured readable lines of both servers, no warning, Ctrl-C stops both', async (t) => {
  t.timeout(90_000);
  const [appPort, idpPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const data = mkdtempSync(path.join(os.tmpdir(), 'bff-tty-start-'));
  // A clean start: no .env, no NODE_ENV, no secrets; only free ports instead of 3000/4000/4100.
  const child = spawn('script', ['-qfec', 'npm start', '/dev/null'], {
    cwd: ROOT,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: data, TERM: 'xterm', npm_config_update_notifier: 'false', DATA_DIR: data,
      PORT: String(appPort), DEV_IDP_PORT: String(idpPort), DEV_API_PORT: String(apiPort),
      ISSUER_BASE_URL: `http://localhost:${idpPort}`, REMOTE_API_URL: `http://localhost:${apiPort}`,
    },
  });
  t.teardown(() => {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  });
  let raw = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const text = () => raw.replace(ANSI, '').replace(/\r/g, '');

  // Started: the app has loaded the dev-idp's discovery document.
  const deadline = Date.now() + 60_000;
  while (!text().includes('IdP discovery succeeded')) {
    if (Date.now() > deadline || child.exitCode !== null) return t.fail(`npm start did not get ready:\n${text()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 500)); // any late line of a clean start
  const startup = text().split('\n').filter((line) => line.trim() !== '');

  // npm echoes the script first; the launcher's first line says where to go.
  const ours = startup.filter((line) => !line.startsWith('> '));
  t.is(ours[0], `App: http://localhost:${appPort} · Dev IdP: http://localhost:${idpPort} · log in as alice / alice-password`, text());

  // Both servers, told apart by a coloured prefix; the app's lines pretty-printed, not JSON.
  t.true(raw.includes('\x1b[34m[app]'), 'the app\'s prefix is blue');
  t.true(raw.includes('\x1b[35m[idp]'), 'the dev-idp\'s prefix is magenta');
  t.true(startup.some((line) => /^\[app\] \[[\d:.]+\] INFO: app listening on \S+ \{"event":"app\.listening",/.test(line)), 'a pino-pretty line of the app, its fields on the same line');
  t.true(startup.some((line) => line.startsWith(`[idp] dev-idp: issuer http://localhost:${idpPort}`)), 'the dev-idp\'s line');
  t.deepEqual(startup.filter((line) => line.includes('{"level"')), [], 'no JSON log line in a terminal');

  // A clean start: nothing at warn level or above, from either server.
  t.deepEqual(startup.filter((line) => /\b(warn|warning|error|fatal)\b/i.test(line)), [], 'no warning or error line');

  // Ctrl-C typed into the terminal stops both servers.
  child.stdin.write('\x03');
  await exited;
  for (const port of [appPort, idpPort]) {
    await t.throwsAsync(fetch(`http://localhost:${port}/healthz`, { signal: AbortSignal.timeout(2000) }), undefined, `port ${port} is closed`);
  }
});
