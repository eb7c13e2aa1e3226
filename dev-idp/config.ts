import { resolve } from 'node:path';
import { config as loadDotenv } from 'dotenv';

/** Settings of the `npm run start:idp` process, read from the environment (and `.env`). */
export interface DevIdpSettings {
  /** DEV_IDP_PORT: TCP port of the IdP on loopback. Default 4000. */
  port: number;
  /** Hostname in the issuer URL, from DEV_IDP_ISSUER: 'localhost' (default) or '127.0.0.1'. */
  host: 'localhost' | '127.0.0.1';
  /** DEV_IDP_ACCOUNTS: path of the accounts JSON file. Default dev-idp/accounts.json. */
  accountsPath: string | undefined;
  /** DEV_API_PORT: port of the dev resource server. Default 4100. */
  apiPort: number;
  /** The app's registration: CLIENT_ID, CLIENT_SECRET, BASE_URL (the same settings the app reads). */
  client: { clientId: string; clientSecret: string; baseUrl: string };
}

/** Development-only default, shared with the app's `.env.example`; never use it anywhere real. */
export const DEFAULT_CLIENT_SECRET = 'dev-only-insecure-client-secret';
export const DEFAULT_CLIENT_ID = 'bff-demo';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

function port(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    problems.push(`${name} must be a TCP port (1-65535), got "${raw}"`);
  }
  return value;
}

/**
 * Reads the dev-idp settings from `env` (by default process.env, after loading `.env` if present).
 * This is the only dev-idp module that reads the environment.
 * Throws one Error naming every invalid variable.
 */
export function loadDevIdpSettings(env: NodeJS.ProcessEnv = readProcessEnv()): DevIdpSettings {
  const problems: string[] = [];
  let portValue = port(env, 'DEV_IDP_PORT', 4000, problems);
  let host: DevIdpSettings['host'] = 'localhost';
  if (env.DEV_IDP_ISSUER) {
    const issuer = URL.parse(env.DEV_IDP_ISSUER);
    if (!issuer || issuer.protocol !== 'http:' || !LOOPBACK_HOSTS.has(issuer.hostname) || issuer.pathname !== '/' || issuer.search) {
      problems.push('DEV_IDP_ISSUER must look like http://localhost:4000 or http://127.0.0.1:4000 (the dev-idp only serves loopback)');
    } else {
      host = issuer.hostname as DevIdpSettings['host'];
      const issuerPort = Number(issuer.port || 80);
      if (env.DEV_IDP_PORT && issuerPort !== portValue) problems.push('DEV_IDP_ISSUER and DEV_IDP_PORT name different ports');
      portValue = issuerPort;
    }
  }
  const apiPort = port(env, 'DEV_API_PORT', 4100, problems);
  if (apiPort === portValue) problems.push('DEV_API_PORT must differ from the IdP port');
  const appPort = port(env, 'PORT', 3000, problems);
  const baseUrl = env.BASE_URL || `http://localhost:${appPort}`;
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    problems.push(`BASE_URL must be an http(s) URL, got "${baseUrl}"`);
  }
  if (problems.length > 0) {
    throw new Error(`dev-idp: invalid settings:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    port: portValue,
    host,
    accountsPath: env.DEV_IDP_ACCOUNTS ? resolve(env.DEV_IDP_ACCOUNTS) : undefined,
    apiPort,
    client: {
      clientId: env.CLIENT_ID || DEFAULT_CLIENT_ID,
      clientSecret: env.CLIENT_SECRET || DEFAULT_CLIENT_SECRET,
      baseUrl,
    },
  };
}

function readProcessEnv(): NodeJS.ProcessEnv {
  // `.env` is optional; real environment variables win over it.
  loadDotenv({ quiet: true });
  return process.env;
}
