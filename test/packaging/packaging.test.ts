/**
 * The two packages as an npm user gets them: built and packed here (never stale output), installed
 * from their tarballs into a fresh project outside the repository (no workspace links, no tsx, no
 * source condition), then
 * - the tarballs' contents and `exports` targets are checked,
 * - the package README's quick start, extracted from its code block, runs under plain `node`
 *   against the installed dev IdP's CLI, and a login goes through it over real HTTP,
 * - a small TypeScript consumer type-checks against the shipped declarations.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import got from 'got';
import { Browser, parseForm } from '../dev-idp/helpers/browser.ts';
import { assertBuilt } from '../helpers/built.ts';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGES = [
  { name: 'koa-oidc-bff', dir: join(ROOT, 'packages', 'koa-oidc-bff') },
  { name: 'koa-oidc-bff-dev-idp', dir: join(ROOT, 'dev-idp') },
] as const;
type PackageName = (typeof PACKAGES)[number]['name'];
/** The in-repo export condition that maps the packages to their TypeScript sources; deliberately not shipped. */
const SOURCE_CONDITION = 'koa-oidc-bff-source';
const SLOW = 300_000;

/**
 * The environment for child processes: without the dev IdP's settings, without anything that
 * would load tsx, and without npm's workspace and project settings inherited from `npx ava` run
 * in the repo (so npm acts on the temp project only).
 */
const SETTING_NAMES = new Set(['DEV_IDP_PORT', 'DEV_IDP_ISSUER', 'DEV_IDP_ACCOUNTS', 'DEV_API_PORT', 'CLIENT_ID', 'CLIENT_SECRET', 'BASE_URL', 'PORT', 'NODE_OPTIONS']);
const NPM_PROJECT_VARS = /^npm_(config_(workspaces?|include_workspace_root|local_prefix)|package_|lifecycle_|command$)/i;
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SETTING_NAMES.has(name) && !NPM_PROJECT_VARS.test(name)));
  return { ...env, ...extra };
}

async function run(command: string, args: string[], cwd: string, timeout = 240_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const failed = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${failed.message}\nstdout: ${failed.stdout ?? ''}\nstderr: ${failed.stderr ?? ''}`);
  }
}

/** A TCP port that was free a moment ago (for the host app, whose port must be known before it starts). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// README extraction

/** The text of a `## heading` section of a Markdown document, up to the next `## `. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of `text` with info string `lang`, in order. */
function fencedBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1]!.trim() === lang).map((m) => m[2]!);
}

/** Replaces `from` (which must occur) in `text` with `to`, everywhere. */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the README quick start no longer contains ${JSON.stringify(from)}; update the substitution in packaging.test.ts\n${text}`);
  return text.split(from).join(to);
}

// ---------------------------------------------------------------------------------------------
// Shared setup: build, pack, install

interface Packed {
  tarball: string;
  files: string[];
  tarEntries: string[];
  manifest: { exports?: unknown; types?: string; bin?: Record<string, string> | string; scripts?: Record<string, string> };
}

let workDir = '';
let projectDir = '';
let quickStart: { install: string[]; idpCommand: string; fileName: string; code: string };
const packed = new Map<PackageName, Packed>();
const children = new Set<ChildProcess>();

test.before(async (t) => {
  t.timeout(SLOW);
  const started = Date.now();
  workDir = await mkdtemp(join(tmpdir(), 'bff-packaging-'));
  const packDir = join(workDir, 'tarballs');
  projectDir = join(workDir, 'consumer');
  await mkdir(packDir);
  await mkdir(projectDir);

  // 1. Pack both packages as built by `npm test` before ava starts (checked fresh; scripts off so
  // that no rebuild deletes dist/ under another test file reading it).
  assertBuilt(join(ROOT, 'packages/koa-oidc-bff'));
  assertBuilt(join(ROOT, 'dev-idp'), join(ROOT, 'dev-idp'));
  for (const { name } of PACKAGES) {
    const { stdout } = await run('npm', ['pack', '-w', name, '--ignore-scripts', '--pack-destination', packDir, '--json'], ROOT);
    const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
    if (result?.name !== name) throw new Error(`npm pack -w ${name} answered ${stdout}`);
    const tarball = join(packDir, result.filename);
    const { stdout: listing } = await run('tar', ['-tzf', tarball], packDir);
    const { stdout: manifest } = await run('tar', ['-xzOf', tarball, 'package/package.json'], packDir);
    packed.set(name, {
      tarball,
      files: result.files.map((f) => f.path).sort(),
      tarEntries: listing.split('\n').filter(Boolean).map((entry) => entry.replace(/^package\//, '')).sort(),
      manifest: JSON.parse(manifest) as Packed['manifest'],
    });
  }

  // 2. What the quick start installs, runs and saves, taken from the README.
  const readme = section(await readFile(join(ROOT, 'packages', 'koa-oidc-bff', 'README.md'), 'utf8'), 'Quick start');
  const shell = fencedBlocks(readme, 'sh').join('\n');
  const installLine = /^npm install (.+)$/m.exec(shell)?.[1];
  const idpCommand = /^npx (\S+)$/m.exec(shell)?.[1];
  const fileName = /Save this as `([^`]+)`/.exec(readme)?.[1];
  const js = fencedBlocks(readme, 'js');
  if (!installLine || !idpCommand || !fileName || js.length !== 1) {
    throw new Error(`the quick start should have an \`npm install\` line, an \`npx <dev idp>\` line, "Save this as \`file\`" and one js block:\n${readme}`);
  }
  quickStart = { install: installLine.trim().split(/\s+/), idpCommand, fileName, code: js[0]! };

  // 3. A fresh project outside the repo, with the tarballs in place of the registry's koa-oidc-bff
  //    (and dev IdP, which the quick start runs with npx), and @types/node for the type-check.
  await writeFile(join(projectDir, 'package.json'), `${JSON.stringify({ name: 'bff-packaging-consumer', private: true, type: 'module' }, null, 2)}\n`);
  const rootManifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const specs = [
    ...quickStart.install.map((spec) => (spec === 'koa-oidc-bff' ? packed.get('koa-oidc-bff')!.tarball : spec)),
    packed.get('koa-oidc-bff-dev-idp')!.tarball,
    `@types/node@${rootManifest.devDependencies['@types/node']!}`,
  ];
  const install = await run('npm', ['install', '--no-audit', '--no-fund', ...specs], projectDir);
  const warnings = install.stderr.split('\n').filter((line) => /\bwarn\b/i.test(line));
  if (warnings.length > 0) t.log(`npm install warnings:\n${warnings.join('\n')}`);
  t.log(`build + pack + install: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test.after.always(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Tarball contents

/** Every string target of an `exports` value, with the conditions that lead to it. */
function exportTargets(value: unknown, path: string[] = []): Array<{ conditions: string[]; target: string }> {
  if (typeof value === 'string') return [{ conditions: path, target: value }];
  if (Array.isArray(value)) return value.flatMap((item) => exportTargets(item, path));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => exportTargets(item, [...path, key]));
  return [];
}

for (const { name } of PACKAGES) {
  test(`${name}: the tarball holds no sources, tests or .data, and every exports, types and bin target`, (t) => {
    const pack = packed.get(name)!;
    t.deepEqual(pack.tarEntries, pack.files, 'the tarball holds exactly what npm pack --json listed');
    const files = pack.files;
    t.true(files.includes('package.json') && files.includes('README.md') && files.includes('LICENSE'));
    t.deepEqual(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), [], 'no TypeScript sources');
    t.deepEqual(files.filter((f) => /^src\//.test(f)), [], 'no src/');
    t.deepEqual(files.filter((f) => /(^|\/)(tests?|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$/.test(f)), [], 'no tests');
    t.deepEqual(files.filter((f) => /(^|\/)\.data(\/|$)/.test(f)), [], 'no .data');
    t.deepEqual(files.filter((f) => /(^|\/)(tsconfig[^/]*\.json|\.env[^/]*|node_modules\/.*)$/.test(f)), [], 'no tsconfig, .env or node_modules');

    const targets = exportTargets(pack.manifest.exports);
    t.true(targets.length > 0, 'package.json has exports');
    for (const { conditions, target } of targets) {
      // The source condition serves the repo's own tsx runs; its targets are not shipped on purpose.
      if (conditions.includes(SOURCE_CONDITION)) continue;
      t.true(files.includes(target.replace(/^\.\//, '')), `exports ${conditions.join(' > ')} -> ${target} is in the tarball`);
    }
    t.true(files.includes(pack.manifest.types!.replace(/^\.\//, '')), `types ${pack.manifest.types} is in the tarball`);
    const bins = typeof pack.manifest.bin === 'string' ? [pack.manifest.bin] : Object.values(pack.manifest.bin ?? {});
    for (const bin of bins) t.true(files.includes(bin.replace(/^\.\//, '')), `bin ${bin} is in the tarball`);
  });
}

// ---------------------------------------------------------------------------------------------
// The quick start, under plain node, with the installed dev IdP

interface Spawned {
  child: ChildProcess;
  output(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  stop(): Promise<[number | null, NodeJS.Signals | null]>;
}

function start(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Spawned {
  const child = spawn(command, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  void exited.then(() => children.delete(child), () => undefined);
  return {
    child,
    output: () => output,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      return exited.finally(() => clearTimeout(timer));
    },
  };
}

/** Resolves when `check` answers a value; rejects if the process exits first or after `ms`. */
async function waitFor<T>(what: string, process: Spawned, check: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let exited = false;
  void process.exited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    if (exited) throw new Error(`${what}: the process exited first\n${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${ms} ms\n${process.output()}`);
}

test('the README quick start, installed from the tarballs, logs alice in under plain node', async (t) => {
  t.timeout(SLOW);
  const appPort = await freePort();
  const appUrl = `http://localhost:${appPort}`;

  // The dev IdP from the installed package's bin (what `npx <bin>` runs), on a free port, with its
  // default client (bff-demo) registered for the host's base URL.
  const bin = join(projectDir, 'node_modules', '.bin', quickStart.idpCommand);
  t.true(existsSync(bin), `${quickStart.idpCommand} is installed as a bin`);
  const idp = start(bin, ['--port', '0', '--api-port', 'off'], projectDir, { BASE_URL: appUrl });
  const issuer = await waitFor('the dev IdP issuer line', idp, () => /^dev-idp: issuer (http:\/\/localhost:\d+)/m.exec(idp.output())?.[1]);

  // The quick start, literally, except for its fixed ports: the ONLY change made to the README's code.
  const code = substitute(substitute(substitute(quickStart.code,
    "'http://localhost:4000'", `'${issuer}'`),
    "'http://localhost:3000'", `'${appUrl}'`),
    'app.listen(3000)', `app.listen(${appPort})`);
  await writeFile(join(projectDir, quickStart.fileName), code);
  const host = start(process.execPath, [quickStart.fileName], projectDir);

  // Ready once /login redirects to the IdP (before discovery it answers 503).
  const probe = got.extend({ followRedirect: false, throwHttpErrors: false, retry: { limit: 0 }, timeout: { request: 2000 } });
  await waitFor('the host app', host, async () => {
    const res = await probe.get(`${appUrl}/login`).catch(() => undefined);
    return res?.statusCode === 302 ? true : undefined;
  });

  // A browser: GET /login -> the IdP's login page.
  const browser = new Browser();
  const login = await browser.http.get(`${appUrl}/login`);
  t.is(login.statusCode, 302);
  t.true(login.headers.location!.startsWith(`${issuer}/`), login.headers.location);
  const loginPage = await browser.get(login.headers.location!);
  t.is(loginPage.statusCode, 200, loginPage.body);
  const loginAction = /<form method="post" action="([^"]+\/login)"/.exec(loginPage.body)?.[1];
  t.truthy(loginAction, loginPage.body);

  // alice / alice-password -> the auto-submitting form_post page aimed at the host's callback.
  const formPost = await browser.post(new URL(loginAction!, loginPage.url).href, { username: 'alice', password: 'alice-password' });
  t.is(formPost.statusCode, 200, formPost.body);
  t.regex(formPost.body, /<form[^>]*method="post"/i);
  t.regex(formPost.body, /\.submit\(\)/);
  const form = parseForm(formPost.body);
  t.is(form.action, `${appUrl}/callback`);
  t.truthy(form.fields.code);
  t.truthy(form.fields.state);

  const callback = await browser.http.post(form.action, { form: form.fields });
  t.is(callback.statusCode, 303, callback.body);
  t.is(callback.headers.location, '/');

  // The protected route with the session cookie: the quick start's greeting.
  const page = await browser.http.get(`${appUrl}/`);
  t.is(page.statusCode, 200, page.body);
  t.is(page.body, 'Hello, Alice Example!');

  // Without the cookie: a navigation is sent to the login, a JSON client gets 401 JSON.
  const anonymous = got.extend({ followRedirect: false, throwHttpErrors: false, retry: { limit: 0 } });
  const navigation = await anonymous.get(`${appUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  t.is(navigation.statusCode, 302);
  t.is(navigation.headers.location, '/login?returnTo=%2F');
  const json = await anonymous.get(`${appUrl}/`, { headers: { accept: 'application/json' } });
  t.is(json.statusCode, 401);
  t.regex(json.headers['content-type'] ?? '', /^application\/json/);
  t.deepEqual(JSON.parse(json.body), { error: 'unauthenticated' });

  // The IdP keeps its keys in the working directory, never inside node_modules.
  t.true(existsSync(join(projectDir, '.data', 'dev-idp', 'jwks.json')));
  t.false(existsSync(join(projectDir, 'node_modules', 'koa-oidc-bff-dev-idp', '.data')));
  t.false(existsSync(join(projectDir, 'node_modules', 'koa-oidc-bff-dev-idp', 'dist', '.data')));

  await host.stop();
  t.deepEqual(await idp.stop(), [0, null], idp.output());
});

// ---------------------------------------------------------------------------------------------
// The shipped declarations, for a strict TypeScript consumer

const CONSUMER_TS = `
import Koa from 'koa';
import { createBff, AuthRequiredError, type Bff, type BffOptions, type BffUser } from 'koa-oidc-bff';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { storeContract } from 'koa-oidc-bff/testing';
import { startDevIdp, type DevIdp } from 'koa-oidc-bff-dev-idp';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

const idp: DevIdp = await startDevIdp({
  port: 0,
  apiPort: false,
  dataDir: '.data/idp',
  logger: () => {},
  clients: [{ clientId: 'typed-app', clientSecret: 'typed-app-secret', baseUrl: 'http://localhost:3000' }],
});

const store = createMemoryStore();
const options: BffOptions = {
  issuer: idp.issuer,
  clientId: 'typed-app',
  clientSecret: 'typed-app-secret',
  baseUrl: new URL('http://localhost:3000'),
  secrets: ['a'.repeat(43)],
  store,
  idpTimeout: 5,
};
const bff: Bff = createBff(options);

const app = new Koa();
app.use(bff.middleware());
app.use(bff.requireUser());
app.use((ctx) => {
  // Declaration merging: importing koa-oidc-bff types ctx.state.user.
  const merged: Equals<typeof ctx.state.user, BffUser | undefined> = true;
  const sub: string | undefined = ctx.state.user?.sub;
  if (!sub || !merged) throw new AuthRequiredError(false, ctx.path);
  ctx.body = { sub, name: bff.user(ctx)?.name ?? null };
});

// @ts-expect-error idpTimeout is a number of seconds, not a string
createBff({ ...options, idpTimeout: '5' });

storeContract('memory', async () => {
  const fresh = createMemoryStore(100);
  return { store: fresh, close: () => fresh.close() };
}, (title: string, fn: () => Promise<void>) => ({ title, fn }));

await bff.close();
await store.close();
await idp.close();
`;

test('a strict TypeScript consumer type-checks against the shipped declarations (skipLibCheck false)', async (t) => {
  t.timeout(SLOW);
  const tscPackage = join(ROOT, 'node_modules', 'typescript');
  const tscManifest = JSON.parse(await readFile(join(tscPackage, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
  const tsc = join(tscPackage, tscManifest.bin.tsc!);
  t.true(existsSync(tsc), tsc);
  await writeFile(join(projectDir, 'consumer.ts'), CONSUMER_TS);
  const args = [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', 'false', '--types', 'node', 'consumer.ts'];
  const result = await execFileAsync(process.execPath, args, { cwd: projectDir, env: cleanEnv(), timeout: 120_000 })
    .then(({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }))
    .catch((err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }));
  t.is(result.code, 0, `tsc ${tscManifest.version}:\n${result.output}`);

  // Where the consumer's Koa types came from (koa itself ships none): see the report in the test log.
  const koaTypes = join(projectDir, 'node_modules', '@types', 'koa');
  t.log(existsSync(koaTypes)
    ? `@types/koa at ${relative(projectDir, koaTypes)}: ${(await run('npm', ['ls', '@types/koa', '--all'], projectDir).catch(() => ({ stdout: '?' }))).stdout.trim()}`
    : '@types/koa is not installed');
});
