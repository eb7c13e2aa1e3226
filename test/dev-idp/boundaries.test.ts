/**
 * Import boundaries between the three parts of the repository:
 *
 * - the demo app (src/) uses the package only by the names in its package.json `exports`
 *   ('koa-oidc-bff', 'koa-oidc-bff/stores/memory', ...), never by a relative path into packages/,
 *   and never imports the dev-idp;
 * - the package (packages/koa-oidc-bff/src) never imports the demo app, the dev-idp or tests;
 * - the dev-idp never imports the app or the package.
 *
 * A plain-text scanner: every static import, re-export, side-effect import, dynamic `import()` and
 * `typeof import()` type query, type-only imports included. Comments are ignored.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = fileURLToPath(new URL('../../', import.meta.url));

const PACKAGE = 'koa-oidc-bff';
const DEV_IDP_PACKAGE = 'koa-oidc-bff-dev-idp';

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(entries.map((e) => {
    const path = join(dir, e.name);
    // dist/ is build output (git-ignored), node_modules/ is not ours.
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name) ? [path] : [];
  }));
  return nested.flat();
}

/**
 * Removes comments that start a line (`//` lines and `/* ... *\/` blocks such as JSDoc), so prose
 * like `from "session gone"` is not read as an import. Comments after code on the same line stay:
 * the scanner errs on the side of reporting too much.
 */
function withoutComments(code: string): string {
  return code.replace(/^[ \t]*\/\*[\s\S]*?\*\//gm, '').replace(/^[ \t]*\/\/.*$/gm, '');
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(code: string): string[] {
  const found = [...withoutComments(code).matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)];
  return found.map((m) => m[1]!);
}

/** True for `name` itself and its subpaths (`name/...`), not for other packages that start alike. */
const isPackage = (spec: string, name: string) => spec === name || spec.startsWith(`${name}/`);

/** True when the root-relative path `target` is `dir` or inside it. */
const isInside = (target: string, dir: string) => target === dir || target.startsWith(`${dir}/`);

/** The bare specifiers the package's `exports` map allows (`koa-oidc-bff`, `koa-oidc-bff/stores/memory`, ...). */
function exportedSpecifiers(exportsMap: unknown): RegExp[] {
  const keys = typeof exportsMap === 'string' || Array.isArray(exportsMap) ? ['.']
    : Object.keys(exportsMap as Record<string, unknown>).some((k) => k.startsWith('.')) ? Object.keys(exportsMap as Record<string, unknown>)
      : ['.']; // a conditions-only map exports the root alone
  return keys.map((key) => {
    const name = key === '.' ? PACKAGE : `${PACKAGE}/${key.replace(/^\.\//, '')}`;
    // Subpath patterns ('./features/*') match any string in place of the star.
    const pattern = name.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+');
    return new RegExp(`^${pattern}$`);
  });
}

const packageJson = JSON.parse(readFileSync(join(root, 'packages/koa-oidc-bff/package.json'), 'utf8')) as { name: string; exports: unknown };
const EXPORTED = exportedSpecifiers(packageJson.exports);

interface Rule {
  /** Root-relative directory whose files the rule checks. */
  from: string;
  /** Root-relative directories that no relative (or absolute) specifier may reach. */
  forbiddenDirs: readonly string[];
  /** Why a bare specifier is forbidden, or undefined when it is fine. */
  bare(spec: string): string | undefined;
}

const RULES = {
  app: {
    from: 'src',
    forbiddenDirs: ['packages', 'dev-idp'],
    bare(spec) {
      if (isPackage(spec, DEV_IDP_PACKAGE)) return 'the app never imports the dev-idp';
      if (isPackage(spec, PACKAGE) && !EXPORTED.some((re) => re.test(spec))) return `not in the exports of packages/koa-oidc-bff/package.json`;
      return undefined;
    },
  },
  package: {
    from: 'packages/koa-oidc-bff/src',
    forbiddenDirs: ['src', 'dev-idp', 'test', 'packages/koa-oidc-bff/test'],
    bare: (spec) => (isPackage(spec, DEV_IDP_PACKAGE) ? 'the package never imports the dev-idp' : undefined),
  },
  devIdp: {
    from: 'dev-idp',
    forbiddenDirs: ['packages', 'src'],
    bare: (spec) => (isPackage(spec, PACKAGE) ? 'the dev-idp never imports the package' : undefined),
  },
} satisfies Record<string, Rule>;

/** The rule breaches of one file (`file` is root-relative), as `file -> specifier (why)`. */
function violations(rule: Rule, file: string, code: string): string[] {
  const bad: string[] = [];
  for (const spec of specifiers(code)) {
    if (spec.startsWith('.') || spec.startsWith('/')) {
      const target = relative(root, resolve(root, file, '..', spec));
      const dir = rule.forbiddenDirs.find((d) => isInside(target, d));
      if (dir) bad.push(`${file} -> ${spec} (reaches ${dir}/)`);
    } else {
      const why = rule.bare(spec);
      if (why) bad.push(`${file} -> ${spec} (${why})`);
    }
  }
  return bad;
}

async function scan(rule: Rule): Promise<{ files: number; bad: string[] }> {
  const files = await sourceFiles(join(root, rule.from));
  const bad = await Promise.all(files.map(async (f) => violations(rule, relative(root, f), await readFile(f, 'utf8'))));
  return { files: files.length, bad: bad.flat() };
}

async function crossings(fromDir: string, forbiddenDir: string): Promise<string[]> {
  const { bad } = await scan({ from: fromDir, forbiddenDirs: [forbiddenDir], bare: () => undefined });
  return bad;
}

test('the app (src/) never imports the dev-idp', async (t) => {
  t.deepEqual(await crossings('src', 'dev-idp'), []);
});

test('the dev-idp never imports the app (src/)', async (t) => {
  t.deepEqual(await crossings('dev-idp', 'src'), []);
});

test('the app (src/) imports the package only by its exported names: no relative path into packages/ or dev-idp/, no unexported subpath', async (t) => {
  const { files, bad } = await scan(RULES.app);
  t.true(files > 0, 'src/ has files to scan');
  t.deepEqual(bad, []);
});

test('the package (packages/koa-oidc-bff/src) never imports src/, dev-idp/, test/ or koa-oidc-bff-dev-idp', async (t) => {
  const { files, bad } = await scan(RULES.package);
  t.true(files > 0, 'packages/koa-oidc-bff/src has files to scan');
  t.deepEqual(bad, []);
});

test('the dev-idp never imports packages/ or koa-oidc-bff', async (t) => {
  const { files, bad } = await scan(RULES.devIdp);
  t.true(files > 0, 'dev-idp/ has files to scan');
  t.deepEqual(bad, []);
});

test('the exports map is read from packages/koa-oidc-bff/package.json (self-check)', (t) => {
  t.is(packageJson.name, PACKAGE);
  const allowed = (spec: string) => EXPORTED.some((re) => re.test(spec));
  for (const spec of ['koa-oidc-bff', 'koa-oidc-bff/stores/memory', 'koa-oidc-bff/stores/sqlite', 'koa-oidc-bff/stores/redis', 'koa-oidc-bff/stores/redis-cluster', 'koa-oidc-bff/testing']) t.true(allowed(spec), spec);
  for (const spec of ['koa-oidc-bff/src/bff.ts', 'koa-oidc-bff/dist/index.js', 'koa-oidc-bff/stores', 'koa-oidc-bff/stores/memory.ts', 'koa-oidc-bff/testing/store-contract']) t.false(allowed(spec), spec);
  t.true(exportedSpecifiers({ '.': './i.js', './features/*': './f/*.js' }).some((re) => re.test('koa-oidc-bff/features/x')), 'subpath patterns');
  t.true(exportedSpecifiers({ import: './i.js' }).some((re) => re.test('koa-oidc-bff')), 'a conditions-only map exports the root');
});

test('the import scanner sees relative imports (self-check)', (t) => {
  t.deepEqual(specifiers("import a from '../x.ts';\nexport { b } from \"./y.js\";\nconst c = await import('../z.ts');\nimport './side.ts';"),
    ['../x.ts', './y.js', '../z.ts', './side.ts']);
});

test('the import scanner sees every import form and skips comments (self-check)', (t) => {
  const code = [
    '/**',
    " * Prose: separates \"never logged in\" from \"session gone\"; import 'not-an-import'.",
    ' */',
    "// import x from '../commented-out.ts';",
    "import type { A } from './types.ts';",
    'import {',
    '  b,',
    '  type C,',
    "} from 'multi-line';",
    "export * from './all.ts';",
    "export * as ns from './ns.ts';",
    "type T = typeof import('./type-query.ts');",
    "const lazy = () => import(\n  'dynamic'\n);",
  ].join('\n');
  t.deepEqual(specifiers(code), ['./types.ts', 'multi-line', './all.ts', './ns.ts', './type-query.ts', 'dynamic']);
});

test('the boundary rules catch planted violations (self-check)', (t) => {
  const planted: [keyof typeof RULES, string, string][] = [
    ['app', 'src/routes/planted.ts', "import { createBff } from '../../packages/koa-oidc-bff/src/bff.ts';"],
    ['app', 'src/planted.ts', "export { x } from '../dev-idp/provider.ts';"],
    ['app', 'src/planted.ts', "import type { SessionStore } from 'koa-oidc-bff/src/session/store.ts';"],
    ['app', 'src/planted.ts', "const m = await import('koa-oidc-bff/dist/index.js');"],
    ['app', 'src/planted.ts', "import { createProvider } from 'koa-oidc-bff-dev-idp';"],
    ['package', 'packages/koa-oidc-bff/src/planted.ts', "import { loadConfig } from '../../../src/config.ts';"],
    ['package', 'packages/koa-oidc-bff/src/login/planted.ts', "import '../../../../dev-idp/main.ts';"],
    ['package', 'packages/koa-oidc-bff/src/planted.ts', "import { startStack } from '../../../test/helpers/stack.ts';"],
    ['package', 'packages/koa-oidc-bff/src/planted.ts', "import { x } from '../test/fixtures/return-to-payloads.ts';"],
    ['package', 'packages/koa-oidc-bff/src/planted.ts', "import { createDevIdp } from 'koa-oidc-bff-dev-idp';"],
    ['devIdp', 'dev-idp/planted.ts', "import { createBff } from '../packages/koa-oidc-bff/src/index.ts';"],
    ['devIdp', 'dev-idp/planted.ts', "import { createBff } from 'koa-oidc-bff';"],
    ['devIdp', 'dev-idp/planted.ts', "import { createMemoryStore } from 'koa-oidc-bff/stores/memory';"],
  ];
  for (const [rule, file, code] of planted) t.is(violations(RULES[rule], file, code).length, 1, `${rule}: ${file}: ${code}`);

  const allowed: [keyof typeof RULES, string, string][] = [
    ['app', 'src/planted.ts', "import { createBff } from 'koa-oidc-bff';\nimport { createRedisStore } from 'koa-oidc-bff/stores/redis';\nimport { storeContract } from 'koa-oidc-bff/testing';\nimport { x } from './config.ts';"],
    ['app', 'src/planted.ts', "// import { createBff } from '../packages/koa-oidc-bff/src/bff.ts';"],
    ['package', 'packages/koa-oidc-bff/src/login/planted.ts', "import { x } from '../session/store.ts';\nimport { y } from './return-to.ts';\nimport * as client from 'openid-client';"],
    ['devIdp', 'dev-idp/planted.ts', "import { x } from './provider.ts';\nimport Provider from 'oidc-provider';\nimport { y } from 'koa-oidc-bff-dev-idp';"],
  ];
  for (const [rule, file, code] of allowed) t.deepEqual(violations(RULES[rule], file, code), [], `${rule}: ${file}`);
});
