/**
 * Issue 8, "Shutdown": `npm start` forwards SIGTERM and SIGINT sent to npm alone (as a process
 * manager does; Ctrl-C to the whole group is in npm-start.test.ts) to both servers, which shut down
 * gracefully, and nothing is left running. Regression test for the npm scripts' `exec`: without
 * it, the `sh -c` that npm runs a script in dies on SIGTERM and leaves both servers orphaned.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../helpers/free-port.ts';
import { ROOT } from '../helpers/spawn-app.ts';

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test.serial(`${signal} to npm start stops the app and the dev-idp gracefully, leaving no process behind`, async (t) => {
    const [app, idp, api] = (await freePorts(3)) as [number, number, number];
    const data = mkdtempSync(path.join(os.tmpdir(), 'bff-npm-'));
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: data, NODE_ENV: 'development', DATA_DIR: data, SESSION_STORE: 'memory',
        PORT: String(app), DEV_IDP_PORT: String(idp), DEV_API_PORT: String(api), ISSUER_BASE_URL: `http://localhost:${idp}`,
        SESSION_SECRET: 'an-npm-start-test-session-secret-of-32-bytes', npm_config_update_notifier: 'false',
      },
    });
    t.teardown(() => {
      if (groupAlive(npm.pid!)) process.kill(-npm.pid!, 'SIGKILL');
    });
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    // Both servers are up once the app has loaded the dev-idp's discovery document.
    await new Promise<void>((resolve, reject) => {
      const check = () => (out.includes('"event":"discovery.succeeded"') ? resolve() : undefined);
      npm.stdout.on('data', check);
      void exited.then(() => reject(new Error(`npm start exited early:\n${out}`)));
    });

    process.kill(npm.pid!, signal); // npm's own process only, as a process manager does
    await exited;
    // Wait (bounded) for everything npm started to exit; orphans would keep the group alive.
    for (let i = 0; i < 300 && groupAlive(npm.pid!); i++) await new Promise((r) => setTimeout(r, 100));
    t.false(groupAlive(npm.pid!), 'no process of npm start is left');
    t.regex(out, /"event":"app\.stopped"/, 'the app shut down gracefully');
    // The dev-idp gets the signal forwarded by concurrently, or, when the app has already exited,
    // concurrently's SIGTERM (kill others on success): either way it must shut down by its handler
    // and exit with code 0.
    t.regex(out, new RegExp(`dev-idp: (${signal}|SIGTERM), shutting down`), 'the dev-idp shut down gracefully');
    t.regex(out, /\[idp\] .* exited with code 0/, 'the dev-idp exited with code 0');
  });
}
