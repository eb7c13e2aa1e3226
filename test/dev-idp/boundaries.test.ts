import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await Promise.all(entries.map((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [path] : [];
  }));
  return nested.flat();
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function specifiers(code: string): string[] {
  const found = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)];
  return found.map((m) => m[1]!);
}

async function crossings(fromDir: string, forbiddenDir: string): Promise<string[]> {
  const bad: string[] = [];
  for (const file of await sourceFiles(join(root, fromDir))) {
    for (const spec of specifiers(await readFile(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(file, '..', spec));
      if (target === forbiddenDir || target.startsWith(`${forbiddenDir}/`)) bad.push(`${relative(root, file)} -> ${spec}`);
    }
  }
  return bad;
}

test('the app (src/) never imports the dev-idp', async (t) => {
  t.deepEqual(await crossings('src', 'dev-idp'), []);
});

test('the dev-idp never imports the app (src/)', async (t) => {
  t.deepEqual(await crossings('dev-idp', 'src'), []);
});

test('the import scanner sees relative imports (self-check)', (t) => {
  t.deepEqual(specifiers("import a from '../x.ts';\nexport { b } from \"./y.js\";\nconst c = await import('../z.ts');\nimport './side.ts';"),
    ['../x.ts', './y.js', '../z.ts', './side.ts']);
});
