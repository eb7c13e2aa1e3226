import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { validateAccounts, type Account } from './accounts.ts';
import { validateClients, type DevClient } from './clients.ts';
import { rawSettingsFromEnv, resolveDevIdpSettings, type RawDevIdpSettings } from './config.ts';
import type { DevIdpOptions } from './index.ts';

/** The CLI's --help text. */
export const HELP = `Usage: koa-oidc-bff-dev-idp [options]

A development OpenID Provider on loopback, for trying and testing OpenID Connect
apps offline. DEVELOPMENT ONLY: sample accounts with known passwords and
well-known secrets; never expose it or use it for real users.

Options (each wins over the environment variable in brackets; .env is read too):
  --port N           IdP port, 0 = a free one            [DEV_IDP_PORT, 4000]
  --issuer URL       http://localhost:PORT or http://127.0.0.1:PORT
                     (PORT may be 0)                     [DEV_IDP_ISSUER]
  --api-port N|off   dev resource server port, 0 = a free one, off = none
                                                         [DEV_API_PORT, 4100]
  --accounts FILE    accounts JSON file  [DEV_IDP_ACCOUNTS, the sample accounts]
  --config FILE      JSON file: {"clients": [...], "accounts": [...] or "FILE"}
                     (an accounts path is relative to the config file)
  --data-dir DIR     where the signing keys are kept     [.data/dev-idp]
  -h, --help         print this help
  -v, --version      print the version

Without --config "clients", one client is registered from CLIENT_ID, CLIENT_SECRET
and BASE_URL (or PORT): bff-demo, dev-only-insecure-client-secret,
http://localhost:3000 by default.

When ready it prints "dev-idp: issuer <url>[, dev API <url>/resource/hello]".
SIGINT or SIGTERM stop it with exit code 0; 1 = it could not start;
2 = invalid command line, settings or config file.
`;

/** What the command line asks for. */
export type CliPlan =
  | { action: 'help' }
  | { action: 'version' }
  | { action: 'serve'; options: Omit<DevIdpOptions, 'logger'> };

/** A problem with the command line, the settings or the config file (exit code 2). */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** The contents of a --config file. */
interface ConfigFile {
  clients?: DevClient[];
  accounts?: Account[] | string;
}

const CONFIG_KEYS = new Set(['clients', 'accounts']);

async function readConfigFile(path: string): Promise<ConfigFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new CliUsageError(`dev-idp: cannot read config file ${path}: ${reason}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliUsageError(`dev-idp: config file ${path} must hold a JSON object {"clients": [...], "accounts": [...]}`);
  }
  const problems: string[] = [];
  const config = parsed as Record<string, unknown>;
  const unknown = Object.keys(config).filter((key) => !CONFIG_KEYS.has(key));
  if (unknown.length > 0) problems.push(`dev-idp: config file ${path}: unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: "clients", "accounts")`);
  const result: ConfigFile = {};
  const collect = (check: () => void) => {
    try {
      check();
    } catch (err) {
      problems.push((err as Error).message);
    }
  };
  if (config.clients !== undefined) collect(() => { result.clients = validateClients(config.clients, `${path} "clients"`); });
  if (typeof config.accounts === 'string') result.accounts = resolve(dirname(path), config.accounts);
  else if (config.accounts !== undefined) collect(() => { result.accounts = validateAccounts(config.accounts, `${path} "accounts"`); });
  if (problems.length > 0) throw new CliUsageError(problems.join('\n'));
  return result;
}

/**
 * Turns the command line (without `node` and the script) and the environment into what to do.
 * Flags win over the environment variables they stand for; --port or --issuer replace both
 * DEV_IDP_PORT and DEV_IDP_ISSUER. Accounts: --accounts, else the config file's, else
 * DEV_IDP_ACCOUNTS, else the samples. Clients: the config file's, else CLIENT_ID/CLIENT_SECRET/BASE_URL.
 * Throws CliUsageError naming every problem it found.
 */
export async function planCli(argv: string[], env: NodeJS.ProcessEnv): Promise<CliPlan> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        issuer: { type: 'string' },
        'api-port': { type: 'string' },
        accounts: { type: 'string' },
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (err) {
    throw new CliUsageError(`dev-idp: ${(err as Error).message}\nRun koa-oidc-bff-dev-idp --help for the options.`, { cause: err });
  }
  if (values.help) return { action: 'help' };
  if (values.version) return { action: 'version' };

  const raw: RawDevIdpSettings = rawSettingsFromEnv(env);
  if (values.port !== undefined || values.issuer !== undefined) {
    raw.port = { name: '--port', value: values.port };
    raw.issuer = { name: '--issuer', value: values.issuer };
  }
  if (values['api-port'] !== undefined) raw.apiPort = { name: '--api-port', value: values['api-port'] };
  if (values.accounts !== undefined) raw.accounts = { name: '--accounts', value: values.accounts };

  const problems: string[] = [];
  let settings;
  try {
    settings = resolveDevIdpSettings(raw, true);
  } catch (err) {
    problems.push((err as Error).message);
  }
  let config: ConfigFile = {};
  if (values.config !== undefined) {
    try {
      config = await readConfigFile(resolve(values.config));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0 || !settings) throw new CliUsageError(problems.join('\n'));

  const accounts = values.accounts !== undefined ? settings.accountsPath : config.accounts ?? settings.accountsPath;
  return {
    action: 'serve',
    options: {
      port: settings.port,
      host: settings.host,
      apiPort: settings.apiPort,
      clients: config.clients ?? [settings.client],
      ...(accounts ? { accounts } : {}),
      ...(values['data-dir'] !== undefined ? { dataDir: resolve(values['data-dir']) } : {}),
    },
  };
}
