/**
 * The starter as a newcomer meets it: create-koa-oidc-bff, koa-oidc-bff and its dev IdP are
 * packed here (as `npm test` built them), the initializer runs from its tarball (what
 * `npm create koa-oidc-bff@latest my-app` and `npx create-koa-oidc-bff my-app` run) into a
 * temporary folder outside the repository, and then, for TypeScript and for JavaScript:
 * - `npm install` with the two packages' tarballs in place of the registry's (no workspace links),
 * - `npm test`: the generated app's own test logs in through the dev IdP and calls /api/me,
 * - `npm start`: says where to go, serves the public page, guards the protected ones, and sends
 *   /login to the dev IdP running inside it,
 * - `NODE_ENV=production npm start` without settings: refused, naming each missing setting.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import got from 'got';
import { assertBuilt } from '../helpers/built.ts';
import { freePorts } from '../helpers/free-port.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGES = {
  'create-koa-oidc-bff': join(ROOT, 'packages', 'create-koa-oidc-bff'),
  'koa-oidc-bff': join(ROOT, 'packages', 'koa-oidc-bff'),
  'koa-oidc-bff-dev-idp': join(ROOT, 'dev-idp'),
} as const;
type PackageName = keyof typeof PACKAGES;
const SLOW = 600_000;

/**
 * The environment of every child: none of the settings the generated app reads, nothing that
 * loads tsx, and none of npm's workspace settings inherited from `npx ava` run in the repo.
 */
const APP_SETTINGS = new Set(['NODE_ENV', 'PORT', 'BASE_URL', 'ISSUER_BASE_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'SESSION_SECRET', 'DEV_IDP_PORT', 'NODE_OPTIONS']);
const NPM_PROJECT_VARS = /^npm_(config_(workspaces?|include_workspace_root|local_prefix)|package_|lifecycle_|command$)/i;
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !APP_SETTINGS.has(name) && !NPM_PROJECT_VARS.test(name)));
  return { ...env, npm_config_update_notifier: 'false', ...extra };
}

async function run(command: string, args: string[], cwd: string, extra: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { cwd, env: cleanEnv(extra), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const failed = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${failed.message}\nstdout: ${failed.stdout ?? ''}\nstderr: ${failed.stderr ?? ''}`);
  }
}

let workDir = '';
const tarballs = new Map<PackageName, string>();

test.before(async (t) => {
  t.timeout(SLOW);
  workDir = await mkdtemp(join(tmpdir(), 'bff-starter-'));
  const packDir = join(workDir, 'tarballs');
  await mkdir(packDir);
  // Built by `npm test` before ava starts (checked fresh); scripts off, so nothing rebuilds dist/ under other test files.
  assertBuilt(PACKAGES['koa-oidc-bff']);
  assertBuilt(PACKAGES['koa-oidc-bff-dev-idp'], PACKAGES['koa-oidc-bff-dev-idp']);
  assertBuilt(PACKAGES['create-koa-oidc-bff']);
  for (const name of Object.keys(PACKAGES) as PackageName[]) {
    const { stdout } = await run('npm', ['pack', '-w', name, '--ignore-scripts', '--pack-destination', packDir, '--json'], ROOT);
    const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ name: string; filename: string }>;
    if (result?.name !== name) throw new Error(`npm pack -w ${name} answered ${stdout}`);
    tarballs.set(name, join(packDir, result.filename));
  }
});

test.after.always(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

for (const language of ['ts', 'js'] as const) {
  test.serial(`${language === 'ts' ? 'TypeScript' : 'JavaScript'}: create, npm install, npm test (its login test) and npm start`, async (t) => {
    t.timeout(SLOW);
    const started = Date.now();
    const parent = join(workDir, language);
    await mkdir(parent);

    // 1. The initializer from its tarball, as npx runs it.
    const created = await run('npm', ['exec', '--yes', `--package=${tarballs.get('create-koa-oidc-bff')!}`, '--', 'create-koa-oidc-bff', 'my-app', ...(language === 'js' ? ['--js'] : [])], parent);
    t.regex(created.stdout, /cd my-app\n\s+npm install\n\s+npm start/);
    const dir = join(parent, 'my-app');
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    t.is(manifest.dependencies['koa-oidc-bff'], '^0.1.0');
    t.is(manifest.dependencies['koa-oidc-bff-dev-idp'], '^0.1.0');
    t.truthy(manifest.devDependencies.ava);
    t.truthy(await readFile(join(dir, `src/app.${language}`), 'utf8'));

    // 2. npm install, with the two packages from their tarballs (published-shaped, never linked).
    await run('npm', ['install', '--no-audit', '--no-fund', tarballs.get('koa-oidc-bff')!, tarballs.get('koa-oidc-bff-dev-idp')!], dir);

    // 3. Its own test: a login through the dev IdP, then the protected JSON route.
    const tested = await run('npm', ['test'], dir);
    t.regex(tested.stdout + tested.stderr, /1 test passed/, tested.stdout + tested.stderr);

    // 4. npm start: the dev IdP inside the app, on free ports.
    const [appPort, idpPort] = (await freePorts(2)) as [number, number];
    const app = spawn('npm', ['start'], { cwd: dir, env: cleanEnv({ PORT: String(appPort), DEV_IDP_PORT: String(idpPort) }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      try { process.kill(-app.pid!, 'SIGKILL'); } catch { /* already gone */ }
    });
    let stdout = '';
    let stderr = '';
    app.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    app.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(app, 'exit');
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('Listening on')) {
      if (Date.now() > deadline || app.exitCode !== null) return t.fail(`npm start did not listen:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const appUrl = `http://localhost:${appPort}`;
    t.true(stdout.includes(`App: ${appUrl} · Dev IdP: http://localhost:${idpPort} · log in as alice / alice-password`), stdout);
    const http = got.extend({ followRedirect: false, throwHttpErrors: false, retry: { limit: 0 }, timeout: { request: 5000 } });
    const home = await http.get(appUrl);
    t.is(home.statusCode, 200);
    t.regex(home.body, /Welcome/);
    const me = await http.get(`${appUrl}/api/me`, { headers: { accept: 'application/json', 'x-csrf': '1' } });
    t.is(me.statusCode, 401);
    t.deepEqual(JSON.parse(me.body), { error: 'unauthenticated' });
    const profile = await http.get(`${appUrl}/profile`, { headers: { accept: 'text/html' } });
    t.is(profile.statusCode, 302);
    t.is(profile.headers.location, '/login?returnTo=%2Fprofile');
    const login = await http.get(`${appUrl}/login`);
    t.is(login.statusCode, 302);
    t.true(login.headers.location!.startsWith(`http://localhost:${idpPort}/auth?`), login.headers.location);
    t.is((await http.get(login.headers.location!)).statusCode, 303, 'the dev IdP takes the authorization request to its login page');
    t.is(stderr.replace(/^npm (warn|notice).*\n/gm, ''), '', 'no warning or error on a clean start');
    // SIGTERM to npm alone (as a process manager sends it): the server stops too, leaving the port free.
    process.kill(app.pid!, 'SIGTERM');
    await exited;
    const stopBy = Date.now() + 10_000;
    let stillServing = true;
    while (stillServing && Date.now() < stopBy) {
      stillServing = await http.get(`${appUrl}/`, { timeout: { request: 1000 } }).then(() => true, () => false);
      if (stillServing) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    t.false(stillServing, 'the server exited with npm (no orphan still listening)');

    // 5. Production never falls back to the dev IdP or a generated secret.
    const production = await run('npm', ['start'], dir, { NODE_ENV: 'production' }).then(() => undefined, (err: Error) => err.message);
    t.truthy(production, 'NODE_ENV=production npm start without settings fails');
    for (const name of ['BASE_URL', 'ISSUER_BASE_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'SESSION_SECRET']) t.regex(production!, new RegExp(`  - ${name}\\n`));
    t.log(`${language}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}
