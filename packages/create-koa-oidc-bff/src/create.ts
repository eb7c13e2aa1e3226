/**
 * Writes a new app: the template's files for the chosen language and a package.json that
 * depends on koa-oidc-bff and its dev IdP. Nothing is installed and nothing is downloaded.
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Language = 'ts' | 'js';

/** The template folder shipped with this package (`template/common`, `template/ts`, `template/js`). */
const TEMPLATE = fileURLToPath(new URL('../template/', import.meta.url));

/**
 * npm never packs a `.gitignore` (and may drop other dotfiles), so the template keeps them under
 * these names and they are renamed on the way out.
 */
const RENAMED: Readonly<Record<string, string>> = { _gitignore: '.gitignore', '_env.example': '.env.example' };

/**
 * The versions the new app depends on: the two packages, released together with this starter,
 * and the newest majors that still run on Node 20 (ava 8 and got 15 need Node 22).
 */
export const VERSIONS = {
  'koa-oidc-bff': '^0.1.0',
  'koa-oidc-bff-dev-idp': '^0.1.0',
  koa: '^3.3.0',
  '@koa/router': '^15.7.0',
  tsx: '^4.23.15',
  ava: '^7.0.0',
  got: '^14.6.6',
  'tough-cookie': '^6.1.0',
  typescript: '^7.0.2',
  '@types/koa': '^3.0.3',
  '@types/node': '^20.19.43',
} as const;
type Dependency = keyof typeof VERSIONS;

/** Thrown for a target that cannot be used; the CLI prints its message alone. */
export class CreateError extends Error {
  override name = 'CreateError';
}

/** An npm package name made from a folder name: its last segment, lower case, other characters as `-`. */
export function packageName(dir: string): string {
  const name = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._~-]+/g, '-').replace(/^[._~-]+|-+$/g, '');
  return name.slice(0, 214) || 'koa-oidc-bff-app';
}

/** The new app's package.json: the package and the dev IdP as dependencies, ava, got and tough-cookie for its test. */
export function manifest(name: string, language: Language): Record<string, unknown> {
  const pick = (names: Dependency[]) => Object.fromEntries(names.sort().map((n) => [n, VERSIONS[n]]));
  const ts = language === 'ts';
  return {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=20.18' },
    scripts: ts
      // exec: npm's signals (Ctrl-C, SIGTERM) reach the server itself, not only the shell.
      ? { start: 'exec node --import tsx src/server.ts', test: 'tsc && ava' }
      : { start: 'exec node src/server.js', test: 'ava' },
    dependencies: pick(['koa', '@koa/router', 'koa-oidc-bff', 'koa-oidc-bff-dev-idp', ...(ts ? ['tsx' as const] : [])]),
    devDependencies: pick(['ava', 'got', 'tough-cookie', ...(ts ? ['typescript', '@types/koa', '@types/node'] as const : [])]),
    // ava runs TypeScript through tsx only with these two settings on Node 20.
    ...(ts ? { ava: { extensions: { ts: 'module' }, nodeArguments: ['--import=tsx'], workerThreads: false } } : {}),
  };
}

/**
 * Writes the app into `dir` (created when missing) and returns the files written, relative to
 * `dir`, sorted. `name` defaults to {@link packageName} of `dir`.
 * @throws {CreateError} when `dir` is a file or a folder that is not empty (nothing is overwritten).
 */
export async function create(dir: string, options: { language: Language; name?: string }): Promise<string[]> {
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new CreateError(err.code === 'ENOTDIR' ? `${dir} is a file` : `${dir} cannot be read: ${err.message}`);
  });
  if (existing.length > 0) throw new CreateError(`${dir} is not empty: choose a new folder (nothing was written)`);
  const name = options.name ?? packageName(dir);
  const written = [
    ...await copyTree(path.join(TEMPLATE, 'common'), dir),
    ...await copyTree(path.join(TEMPLATE, options.language), dir),
  ];
  const readme = path.join(dir, 'README.md');
  await writeFile(readme, (await readFile(readme, 'utf8')).replaceAll('__NAME__', name).replaceAll('__EXT__', options.language));
  await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(manifest(name, options.language), null, 2)}\n`);
  return [...written, 'package.json'].sort();
}

/** Copies every file under `from` into `to`, renaming {@link RENAMED} ones; returns their paths relative to `to`. */
async function copyTree(from: string, to: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const target = path.join(to, RENAMED[entry.name] ?? entry.name);
    if (entry.isDirectory()) {
      files.push(...(await copyTree(path.join(from, entry.name), target)).map((f) => path.join(path.basename(target), f)));
    } else {
      await mkdir(to, { recursive: true });
      await copyFile(path.join(from, entry.name), target);
      files.push(path.basename(target));
    }
  }
  return files;
}
