/**
 * The package as a consumer gets it: dist/ built here (never stale), run with plain `node` (no
 * tsx, no source condition), from another working directory, on free ports only.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import got from 'got';
import { authorizationUrl, Browser, browserLogin, discover } from './helpers/browser.ts';
import { assertBuilt } from '../helpers/built.ts';
import { tempDir } from './helpers/harness.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE_DIR = join(ROOT, 'dev-idp');
const CLI = join(PACKAGE_DIR, 'dist', 'cli.js');

/** The environment without the settings the CLI reads and without anything that would load tsx. */
const SETTING_NAMES = ['DEV_IDP_PORT', 'DEV_IDP_ISSUER', 'DEV_IDP_ACCOUNTS', 'DEV_API_PORT', 'CLIENT_ID', 'CLIENT_SECRET', 'BASE_URL', 'PORT', 'NODE_OPTIONS'];
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !SETTING_NAMES.includes(name))),
  ...extra,
});

const children = new Set<ChildProcess>();

test.before(() => {
  // Built by `npm test` before ava starts (see test/helpers/built.ts).
  assertBuilt(join(ROOT, 'dev-idp'), join(ROOT, 'dev-idp'));
});

test.after.always(() => {
  for (const child of children) child.kill('SIGKILL');
});

interface RunningCli {
  child: ChildProcess;
  issuer: string;
  apiUrl: string | undefined;
  stdout(): string;
  /** Sends SIGTERM and answers the exit code and signal. */
  stop(): Promise<[number | null, NodeJS.Signals | null]>;
}

/** Starts `node dist/cli.js ...args` and waits for its "issuer" line (which carries the real ports). */
async function startCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<RunningCli> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  exited.then(() => children.delete(child), () => undefined);
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no issuer line in 20 s\nstdout: ${stdout}\nstderr: ${stderr}`)), 20_000);
    const check = () => {
      const match = /^dev-idp: issuer (http:\/\/[^\s,]+)(?:, dev API (http:\/\/\S+)\/resource\/hello)?$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited with ${code} before it was ready\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  return {
    child,
    issuer: ready[1]!,
    apiUrl: ready[2],
    stdout: () => stdout,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs the CLI to completion (for flags that exit at once). */
async function runCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(), timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('the built CLI under plain node: --port 0 reports its issuer, serves discovery, the login page and the dev API; SIGTERM exits 0', async (t) => {
  const cwd = await tempDir('dev-idp-cli-');
  t.teardown(cwd.remove);
  const cli = await startCli(['--port', '0', '--api-port', '0'], { cwd: cwd.path, env: { CLIENT_ID: 'cli-app', BASE_URL: 'http://localhost:3999' } });
  t.regex(cli.issuer, /^http:\/\/localhost:\d+$/);
  t.not(cli.issuer, 'http://localhost:0');
  const doc = await discover(cli.issuer);
  t.is(doc.issuer, cli.issuer);
  t.truthy(cli.apiUrl);
  t.is((await got(`${cli.apiUrl}/resource/hello`, { throwHttpErrors: false })).statusCode, 401);

  // The views and the sample accounts are found from dist/; the client comes from CLIENT_ID and BASE_URL.
  const page = await new Browser().get(authorizationUrl({ authorizationEndpoint: doc.authorization_endpoint, clientId: 'cli-app', redirectUri: 'http://localhost:3999/callback' }).url);
  t.is(page.statusCode, 200, page.body);
  t.regex(page.body, /alice-password/);

  // Keys go to .data/dev-idp under the working directory, not into the package.
  t.true(existsSync(join(cwd.path, '.data', 'dev-idp', 'jwks.json')));
  t.false(existsSync(join(PACKAGE_DIR, 'dist', '.data')));

  t.deepEqual(await cli.stop(), [0, null]);
  t.regex(cli.stdout(), /DEVELOPMENT ONLY/);
  t.regex(cli.stdout(), /dev-idp: SIGTERM, shutting down/);
});

test('the built CLI with --config (clients and accounts), --issuer http://127.0.0.1:0, --api-port off and --data-dir', async (t) => {
  const dir = await tempDir('dev-idp-cli-');
  t.teardown(dir.remove);
  const redirectUris = ['http://localhost:3998/one', 'http://localhost:3998/two'];
  await writeFile(join(dir.path, 'people.json'), JSON.stringify([{ username: 'carol', password: 'carol-password', claims: { sub: 'carol-sub', name: 'Carol' } }]));
  await writeFile(join(dir.path, 'idp.json'), JSON.stringify({ clients: [{ clientId: 'cfg', clientSecret: 'cfg-secret', redirectUris }], accounts: 'people.json' }));
  const cli = await startCli(
    ['--config', 'idp.json', '--issuer', 'http://127.0.0.1:0', '--api-port', 'off', '--data-dir', 'keys'],
    { cwd: dir.path },
  );
  t.regex(cli.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is(cli.apiUrl, undefined);
  const doc = await discover(cli.issuer);
  const login = await browserLogin(new Browser(), {
    authorizationEndpoint: doc.authorization_endpoint, clientId: 'cfg', redirectUri: redirectUris[1]!, username: 'carol', password: 'carol-password',
  });
  t.is(login.form.action, redirectUris[1]!);
  t.truthy(login.form.fields.code);
  t.true(existsSync(join(dir.path, 'keys', 'jwks.json')));
  t.deepEqual(await cli.stop(), [0, null]);
});

test('--help and --version exit 0; a bad flag or config file exits 2 with a message', async (t) => {
  const dir = await tempDir('dev-idp-cli-');
  t.teardown(dir.remove);
  const help = await runCli(['--help'], dir.path);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: koa-oidc-bff-dev-idp \[options\]/);
  t.regex(help.stdout, /--config FILE/);
  const version = await runCli(['--version'], dir.path);
  t.is(version.stdout.trim(), (JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version);

  const bad = await runCli(['--port', 'x', '--frobnicate'], dir.path);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--frobnicate/);
  await writeFile(join(dir.path, 'bad.json'), JSON.stringify({ clients: [{ clientId: 'x', clientSecret: 's' }] }));
  const badConfig = await runCli(['--config', 'bad.json', '--port', '0'], dir.path);
  t.is(badConfig.code, 2);
  t.regex(badConfig.stderr, /bad\.json "clients":\n {2}- \[0\] needs baseUrl or redirectUris/);
});

test('a port in use: exit 1, naming the flag to change', async (t) => {
  const dir = await tempDir('dev-idp-cli-');
  t.teardown(dir.remove);
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const result = await runCli(['--port', String(port), '--api-port', 'off'], dir.path);
  t.is(result.code, 1);
  t.regex(result.stderr, /EADDRINUSE.*is it already running\? Change --port/);
});

test('plain node resolves koa-oidc-bff-dev-idp to dist/ (no source condition), and dist imports no .ts file', async (t) => {
  const script = [
    "const m = await import('koa-oidc-bff-dev-idp');",
    "console.log(JSON.stringify({ url: import.meta.resolve('koa-oidc-bff-dev-idp'), start: typeof m.startDevIdp, accounts: m.DEFAULT_ACCOUNTS_PATH, dataDir: m.DEFAULT_DATA_DIR }));",
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: cleanEnv() });
  const seen = JSON.parse(stdout) as Record<string, string>;
  t.is(fileURLToPath(seen.url!), join(PACKAGE_DIR, 'dist', 'index.js'));
  t.is(seen.start, 'function');
  t.is(seen.accounts, join(PACKAGE_DIR, 'accounts.json'));
  t.is(seen.dataDir, join('.data', 'dev-idp'));

  const js = (await readdir(join(PACKAGE_DIR, 'dist'))).filter((f) => f.endsWith('.js'));
  t.true(js.includes('cli.js') && js.includes('index.js'));
  t.false(js.includes('main.js'), 'main.ts is the in-repo `npm run start:idp` only');
  for (const file of js) {
    const code = await readFile(join(PACKAGE_DIR, 'dist', file), 'utf8');
    t.deepEqual([...code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+\.ts)['"]/g)].map((m) => m[1]), [], file);
  }
  t.true((await readFile(CLI, 'utf8')).startsWith('#!/usr/bin/env node\n'));
  t.truthy((await stat(CLI)).mode & 0o100, 'the bin is executable even after a rebuild replaced it');
});

test('npm pack ships dist, views, accounts.json, README and LICENSE, and no sources', async (t) => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '-w', 'koa-oidc-bff-dev-idp'], { cwd: ROOT });
  const [pack] = JSON.parse(stdout) as Array<{ name: string; files: Array<{ path: string }> }>;
  const files = pack!.files.map((f) => f.path);
  t.is(pack!.name, 'koa-oidc-bff-dev-idp');
  for (const needed of ['package.json', 'README.md', 'LICENSE', 'accounts.json', 'dist/cli.js', 'dist/index.js', 'dist/index.d.ts', 'views/login.eta', 'views/layout.eta']) {
    t.true(files.includes(needed), needed);
  }
  t.deepEqual(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), []);
  t.false(files.some((f) => f.startsWith('.data') || f.includes('tsconfig')));
});
