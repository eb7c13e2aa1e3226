import { resolve } from 'node:path';
import { config as loadDotenv } from 'dotenv';

/** Settings of the `npm run start:idp` process (and the CLI), read from the environment (and `.env`). */
export interface DevIdpSettings {
  /** DEV_IDP_PORT: TCP port of the IdP on loopback. Default 4000. */
  port: number;
  /** Hostname in the issuer URL, from DEV_IDP_ISSUER: 'localhost' (default) or '127.0.0.1'. */
  host: 'localhost' | '127.0.0.1';
  /** DEV_IDP_ACCOUNTS: path of the accounts JSON file. Default: the package's accounts.json. */
  accountsPath: string | undefined;
  /** DEV_API_PORT: port of the dev resource server. Default 4100. False (CLI `--api-port off`): none. */
  apiPort: number | false;
  /** The app's registration: CLIENT_ID, CLIENT_SECRET, BASE_URL (the same settings the app reads). */
  client: { clientId: string; clientSecret: string; baseUrl: string };
}

/** One raw setting and the name it is reported under: an environment variable or a CLI flag. */
export interface NamedValue {
  name: string;
  value: string | undefined;
}

/** The raw inputs of DevIdpSettings, before validation. */
export interface RawDevIdpSettings {
  port: NamedValue;
  issuer: NamedValue;
  apiPort: NamedValue;
  accounts: NamedValue;
  appPort: NamedValue;
  baseUrl: NamedValue;
  clientId: NamedValue;
  clientSecret: NamedValue;
}

/** Development-only default, shared with the app's `.env.example`; never use it anywhere real. */
export const DEFAULT_CLIENT_SECRET = 'dev-only-insecure-client-secret';
/** The client id registered when CLIENT_ID is not set (the demo app's default). */
export const DEFAULT_CLIENT_ID = 'bff-demo';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

interface PortRules {
  /** 0 (a free port) is accepted: the CLI prints the port it got. */
  allowFree: boolean;
  /** "off" is accepted and read as false. */
  allowOff?: boolean;
}

function port(input: NamedValue, fallback: number, problems: string[], rules: PortRules): number | false {
  const raw = input.value;
  if (raw === undefined || raw === '') return fallback;
  if (rules.allowOff && raw === 'off') return false;
  const value = Number(raw);
  const min = rules.allowFree ? 0 : 1;
  if (!Number.isInteger(value) || value < min || value > 65535) {
    const what = `${rules.allowFree ? 'a TCP port (0-65535, 0 = a free port)' : 'a TCP port (1-65535)'}${rules.allowOff ? ' or "off"' : ''}`;
    problems.push(`${input.name} must be ${what}, got "${raw}"`);
  }
  return value;
}

/** The raw settings of `env`, named after their variables. Reads exactly the documented variables. */
export function rawSettingsFromEnv(env: NodeJS.ProcessEnv): RawDevIdpSettings {
  const named = (name: string): NamedValue => ({ name, value: env[name] });
  return {
    port: named('DEV_IDP_PORT'),
    issuer: named('DEV_IDP_ISSUER'),
    apiPort: named('DEV_API_PORT'),
    accounts: named('DEV_IDP_ACCOUNTS'),
    appPort: named('PORT'),
    baseUrl: named('BASE_URL'),
    clientId: named('CLIENT_ID'),
    clientSecret: named('CLIENT_SECRET'),
  };
}

/**
 * Validates raw settings (from the environment, or CLI flags over it) into DevIdpSettings.
 * `cli` accepts what only the command line offers: port 0 (a free port) and `--api-port off`.
 * Throws one Error naming every invalid setting by its variable or flag.
 */
export function resolveDevIdpSettings(raw: RawDevIdpSettings, cli = false): DevIdpSettings {
  const problems: string[] = [];
  let portValue = port(raw.port, 4000, problems, { allowFree: cli }) as number;
  let host: DevIdpSettings['host'] = 'localhost';
  if (raw.issuer.value) {
    const issuer = URL.parse(raw.issuer.value);
    if (!issuer || issuer.protocol !== 'http:' || !LOOPBACK_HOSTS.has(issuer.hostname) || issuer.pathname !== '/' || issuer.search) {
      problems.push(`${raw.issuer.name} must look like http://localhost:4000 or http://127.0.0.1:4000 (the dev-idp only serves loopback)`);
    } else {
      host = issuer.hostname as DevIdpSettings['host'];
      const issuerPort = Number(issuer.port || 80);
      if (raw.port.value && issuerPort !== portValue) problems.push(`${raw.issuer.name} and ${raw.port.name} name different ports`);
      portValue = issuerPort;
    }
  }
  const apiPort = port(raw.apiPort, 4100, problems, { allowFree: cli, allowOff: cli });
  // Two zeros are two different free ports.
  if (apiPort === portValue && portValue !== 0) problems.push(`${raw.apiPort.name} must differ from the IdP port`);
  const appPort = port(raw.appPort, 3000, problems, { allowFree: false });
  const baseUrl = raw.baseUrl.value || `http://localhost:${appPort}`;
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    problems.push(`${raw.baseUrl.name} must be an http(s) URL, got "${baseUrl}"`);
  }
  if (problems.length > 0) {
    throw new Error(`dev-idp: invalid settings:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    port: portValue,
    host,
    accountsPath: raw.accounts.value ? resolve(raw.accounts.value) : undefined,
    apiPort,
    client: {
      clientId: raw.clientId.value || DEFAULT_CLIENT_ID,
      clientSecret: raw.clientSecret.value || DEFAULT_CLIENT_SECRET,
      baseUrl,
    },
  };
}

/**
 * Reads the dev-idp settings from `env` (by default process.env, after loading `.env` if present).
 * This and readProcessEnv are the only dev-idp code that reads the environment.
 * Throws one Error naming every invalid variable.
 */
export function loadDevIdpSettings(env: NodeJS.ProcessEnv = readProcessEnv()): DevIdpSettings {
  return resolveDevIdpSettings(rawSettingsFromEnv(env));
}

/** process.env after loading `.env` from the working directory, if there is one (real variables win). */
export function readProcessEnv(): NodeJS.ProcessEnv {
  loadDotenv({ quiet: true });
  return process.env;
}
