import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'koa-oidc-bff-dev-idp';

function readManifest(dir: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined;
  }
}

/**
 * The package's own directory (the one holding its package.json, views/ and accounts.json),
 * found by walking up from this module. One answer for every layout: the sources
 * (dev-idp/*.ts under tsx), the build (dev-idp/dist/*.js) and an install
 * (node_modules/koa-oidc-bff-dev-idp/dist/*.js). The name is checked so that a package.json
 * put into dist/ (for example `{"type": "module"}`) is never taken for the root.
 * Throws at import time if the package layout is broken, which no request could survive anyway.
 */
function findPackage(start: string): { root: string; version: string } {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = readManifest(dir);
    if (manifest?.name === PACKAGE_NAME) return { root: dir, version: String(manifest.version) };
    if (dirname(dir) === dir) throw new Error(`dev-idp: cannot find the ${PACKAGE_NAME} package.json above ${start}`);
  }
}

const found = findPackage(dirname(fileURLToPath(import.meta.url)));

/** Absolute path of the package directory: views/ and accounts.json are read from here. */
export const PACKAGE_ROOT = found.root;

/** The package's version, from its package.json (printed by the CLI's --version). */
export const PACKAGE_VERSION = found.version;
