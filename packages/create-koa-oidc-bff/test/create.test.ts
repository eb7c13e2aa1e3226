/**
 * The starter without npm: which files it writes for each language, the package.json it writes
 * (the two packages as dependencies, in step with this repository's versions), that it never
 * overwrites anything, and its command line. The whole journey (pack, create, npm install,
 * npm test, npm start) is test/starter/starter.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { planCli } from '../src/cli-args.ts';
import { create, CreateError, manifest, packageName, VERSIONS } from '../src/create.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const readJson = (file: string) => JSON.parse(readFileSync(path.join(REPO, file), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const fresh = () => path.join(mkdtempSync(path.join(tmpdir(), 'create-bff-')), 'my-app');

const COMMON = ['.env.example', '.gitignore', 'README.md', 'package.json'];

for (const language of ['ts', 'js'] as const) {
  test(`${language}: writes the app, its server, one test, .env.example, .gitignore and a README`, async (t) => {
    const dir = fresh();
    const files = await create(dir, { language });
    const own = language === 'ts' ? ['src/app.ts', 'src/server.ts', 'test/app.test.ts', 'tsconfig.json'] : ['src/app.js', 'src/server.js', 'test/app.test.js'];
    t.deepEqual(files, [...COMMON, ...own].sort());
    const app = readFileSync(path.join(dir, `src/app.${language}`), 'utf8');
    t.true(app.split('\n').length <= 40, 'the app is about 30 lines');
    for (const route of ["'/'", "'/profile'", "'/api/me'"]) t.true(app.includes(`router.get(${route}`), route);
    const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
    t.true(readme.startsWith('# my-app\n'));
    t.regex(readme, /^npm start .*\nnpm test /m, 'the two commands');
    t.true(readme.includes(`src/app.${language}`));
    t.false(readme.includes('__'), 'no placeholder left');
  });
}

test('package.json: the package and the dev IdP as dependencies, ava, got and tough-cookie for the test', (t) => {
  for (const language of ['ts', 'js'] as const) {
    const m = manifest('my-app', language) as { name: string; type: string; scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };
    t.is(m.name, 'my-app');
    t.is(m.type, 'module');
    t.is(m.dependencies['koa-oidc-bff'], VERSIONS['koa-oidc-bff']);
    t.is(m.dependencies['koa-oidc-bff-dev-idp'], VERSIONS['koa-oidc-bff-dev-idp']);
    t.truthy(m.dependencies.koa);
    for (const dev of ['ava', 'got', 'tough-cookie']) t.truthy(m.devDependencies[dev], dev);
    t.truthy(m.scripts.start);
    t.regex(m.scripts.test!, /\bava$/);
  }
  const ts = manifest('x', 'ts') as { scripts: Record<string, string>; dependencies: Record<string, string> };
  t.is(ts.scripts.start, 'exec node --import tsx src/server.ts');
  t.truthy(ts.dependencies.tsx, 'tsx runs the TypeScript app');
  const js = manifest('x', 'js') as { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  t.is(js.scripts.start, 'exec node src/server.js');
  t.deepEqual(Object.keys({ ...js.dependencies, ...js.devDependencies }).filter((n) => /tsx|typescript|@types/.test(n)), []);
});

test('the versions written stay in step with this repository: its packages\' versions, the ranges its own tests run', (t) => {
  const versions: Record<string, string> = VERSIONS;
  t.is(versions['koa-oidc-bff'], `^${readJson('packages/koa-oidc-bff/package.json').version}`);
  t.is(versions['koa-oidc-bff-dev-idp'], `^${readJson('dev-idp/package.json').version}`);
  const root = readJson('package.json');
  const ranges = { ...root.dependencies, ...root.devDependencies };
  for (const name of ['koa', '@koa/router', 'tsx', 'ava', 'got', 'tough-cookie', 'typescript', '@types/koa', '@types/node']) {
    t.is(versions[name], ranges[name], name);
  }
});

test('never overwrites: a folder that is not empty, or a file, is refused and left as it was', async (t) => {
  const dir = fresh();
  await create(dir, { language: 'js' });
  writeFileSync(path.join(dir, 'src/app.js'), 'mine');
  await t.throwsAsync(create(dir, { language: 'ts' }), { instanceOf: CreateError, message: /is not empty/ });
  t.is(readFileSync(path.join(dir, 'src/app.js'), 'utf8'), 'mine');
  await t.throwsAsync(create(path.join(dir, 'README.md'), { language: 'ts' }), { instanceOf: CreateError, message: /is a file/ });
});

test('the package name comes from the folder name', (t) => {
  t.is(packageName('my-app'), 'my-app');
  t.is(packageName('/tmp/work/My Cool App'), 'my-cool-app');
  t.is(packageName('./.hidden'), 'hidden');
  t.is(packageName('@@@'), 'koa-oidc-bff-app');
});

test('command line: a folder, --ts (default) or --js, --help; anything else is refused', (t) => {
  t.deepEqual(planCli(['my-app']), { action: 'create', dir: 'my-app', language: 'ts' });
  t.deepEqual(planCli(['my-app', '--js']), { action: 'create', dir: 'my-app', language: 'js' });
  t.deepEqual(planCli(['--js', 'my-app', '--ts']), { action: 'create', dir: 'my-app', language: 'ts' });
  t.deepEqual(planCli(['--help']), { action: 'help' });
  t.throws(() => planCli([]), { message: /name the folder/ });
  t.throws(() => planCli(['a', 'b']), { message: /one folder only/ });
  t.throws(() => planCli(['my-app', '--template', 'react']), { message: /unknown option --template/ });
});

test('the command: exit 0 and the next steps, 1 for a folder in use, 2 for a wrong command line', async (t) => {
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const run = (args: string[], cwd: string) => promisify(execFile)(process.execPath, ['--import', import.meta.resolve('tsx'), cli, ...args], { cwd })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (err: { code: number; stdout: string; stderr: string }) => err);
  const parent = path.dirname(fresh());
  const ok = await run(['my-app', '--js'], parent);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^Created my-app: .*\(JavaScript\)\.\n\n {2}cd my-app\n {2}npm install\n {2}npm start .*\n {2}npm test /);
  const again = await run(['my-app'], parent);
  t.is(again.code, 1);
  t.regex(again.stderr, /^create-koa-oidc-bff: my-app is not empty/);
  const wrong = await run([], parent);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /name the folder[\s\S]*Usage: npm create koa-oidc-bff@latest <folder>/);
  t.is((await run(['--help'], parent)).code, 0);
});

test('a command, not a library: its exports open nothing but package.json', (t) => {
  const manifestFile = fileURLToPath(new URL('../package.json', import.meta.url));
  const published = JSON.parse(readFileSync(manifestFile, 'utf8')) as { exports?: Record<string, string> };
  t.deepEqual(published.exports, { './package.json': './package.json' });
  // Through the installed (workspace-linked) name, as a consumer would reach it.
  t.truthy(import.meta.resolve('create-koa-oidc-bff/package.json'));
  // The loader's error comes from another realm (not an `instanceof Error` here): compare its code.
  let code: unknown;
  try {
    import.meta.resolve('create-koa-oidc-bff/dist/create.js');
  } catch (err) {
    code = (err as { code?: unknown }).code;
  }
  t.is(code, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});
