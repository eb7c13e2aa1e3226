/** The command line of create-koa-oidc-bff: its usage text and how arguments are read. */
import type { Language } from './create.ts';

export const USAGE = `Usage: npm create koa-oidc-bff@latest <folder> [-- --js]
       npx create-koa-oidc-bff <folder> [--ts | --js]

Writes a Koa app protected by koa-oidc-bff (OpenID Connect login, tokens kept on the
server) into <folder>, which must be new or empty: a public page, a protected page, a
protected JSON route, and a test that logs in through the bundled dev IdP.

  --ts         TypeScript, run with tsx (the default)
  --js         JavaScript
  -h, --help   show this help
`;

/** What the command line asks for. */
export type CliPlan = { action: 'help' } | { action: 'create'; dir: string; language: Language };

/** Reads the arguments (without `node` and the script); throws a message for an invalid command line. */
export function planCli(args: readonly string[]): CliPlan {
  let language: Language = 'ts';
  const folders: string[] = [];
  for (const arg of args) {
    if (arg === '-h' || arg === '--help') return { action: 'help' };
    if (arg === '--ts' || arg === '--typescript') language = 'ts';
    else if (arg === '--js' || arg === '--javascript') language = 'js';
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else folders.push(arg);
  }
  if (folders.length !== 1) throw new Error(folders.length === 0 ? 'name the folder to create, e.g. my-app' : `one folder only, got ${folders.join(' ')}`);
  return { action: 'create', dir: folders[0]!, language };
}
