import { fileURLToPath } from 'node:url';
import type ProviderType from 'oidc-provider';
import { accountDirectory, loadAccountsFile, validateAccounts, type Account } from './accounts.ts';
import type { DevClient } from './clients.ts';
import { interactionRoutes } from './interactions.ts';
import { loadOrCreateSigningKeys } from './keys.ts';
import { impliedConsentForOfflineAccess } from './offline-access.ts';
import { listenOnLoopback, type LoopbackServer } from './loopback-server.ts';
import { createProvider, DEFAULT_TTL, type DevIdpTtl } from './provider.ts';
import { createResourceServer } from './resource-server.ts';
import { securityHeaders } from './security-headers.ts';
import { countProviderEvents, type DevIdpStats } from './stats.ts';

export type { Account, AccountClaims } from './accounts.ts';
export type { DevClient } from './clients.ts';
export type { DevIdpStats } from './stats.ts';
export type { DevIdpTtl } from './provider.ts';

export const DEFAULT_ACCOUNTS_PATH = fileURLToPath(new URL('./accounts.json', import.meta.url));
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../.data/dev-idp', import.meta.url));

export interface DevIdpOptions {
  /** TCP port; 0 = a free port (tests). Default 4000. */
  port?: number;
  /** Hostname in the issuer URL: 'localhost' (default) or '127.0.0.1' (cross-site tests). Binds to loopback only. */
  host?: string;
  /** Accounts, or the path of an accounts JSON file. Default dev-idp/accounts.json. */
  accounts?: Account[] | string;
  /** The app(s) to register. */
  clients: DevClient[];
  /** Where the generated signing keys are kept (created if missing). Default <repo>/.data/dev-idp. */
  dataDir?: string;
  /** Lifetimes in seconds; see DEFAULT_TTL. */
  ttl?: DevIdpTtl;
  /** Dev resource server port (0 = free); false = don't start it (opaque access tokens). Default 4100. */
  apiPort?: number | false;
  /** Where it reports (startup lines, back-channel failures, server errors). Default console.log. */
  logger?: (line: string) => void;
}

export interface DevIdp {
  /** e.g. http://localhost:54321 (no trailing slash). */
  issuer: string;
  /** The oidc-provider instance, for tests (revoke grants, etc.). */
  provider: ProviderType;
  /** Base URL of the dev resource server, e.g. http://localhost:4100; undefined when not started. */
  apiUrl: string | undefined;
  /** The `aud` of JWT access tokens (equal to apiUrl); undefined when the API is off. */
  apiAudience: string | undefined;
  stats: DevIdpStats;
  /** Closes every connection and both servers. */
  close(): Promise<void>;
}

/**
 * Starts the development OpenID Provider (and, unless apiPort is false, the dev API) on loopback.
 * Listens first, so that with port 0 the issuer carries the real port, then builds the provider.
 * Input: DevIdpOptions. Output: a running DevIdp. Throws on invalid accounts, unusable dataDir,
 * invalid client registration or a port in use (nothing is left listening then).
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const log = options.logger ?? ((line: string) => console.log(line));
  const host = options.host ?? 'localhost';
  if (host !== 'localhost' && host !== '127.0.0.1') {
    throw new Error(`dev-idp: host must be 'localhost' or '127.0.0.1', got '${host}'`);
  }
  const source = options.accounts ?? DEFAULT_ACCOUNTS_PATH;
  const accounts = accountDirectory(typeof source === 'string'
    ? await loadAccountsFile(source)
    : validateAccounts(source, 'options.accounts'));
  const keys = await loadOrCreateSigningKeys(options.dataDir ?? DEFAULT_DATA_DIR);

  const opened: LoopbackServer[] = [];
  try {
    const idpServer = await listenOnLoopback(host, options.port ?? 4000);
    opened.push(idpServer);
    const issuer = `http://${host}:${idpServer.port}`;
    const apiPort = options.apiPort ?? 4100;
    const apiServer = apiPort === false ? undefined : await listenOnLoopback(host, apiPort);
    if (apiServer) opened.push(apiServer);
    const apiUrl = apiServer && `http://${host}:${apiServer.port}`;

    const provider = createProvider({
      issuer, accounts, clients: options.clients, keys, apiAudience: apiUrl, ttl: { ...DEFAULT_TTL, ...options.ttl },
    });
    // Fail at startup, not at the first login, when a registration is invalid.
    await Promise.all(options.clients.map((c) => provider.Client.find(c.clientId)));
    const stats = countProviderEvents(provider, log);
    provider.use(securityHeaders());
    provider.use(impliedConsentForOfflineAccess(provider.pathFor('authorization')));
    provider.use(interactionRoutes(provider, accounts, log));
    idpServer.handle(provider.callback());
    if (apiServer && apiUrl) {
      apiServer.handle(createResourceServer({ issuer, jwksUri: `${issuer}/jwks`, audience: apiUrl }).callback());
    }

    log('dev-idp: DEVELOPMENT ONLY, test accounts and well-known secrets; never expose it or use it for real users');
    log(`dev-idp: issuer ${issuer}${apiUrl ? `, dev API ${apiUrl}/resource/hello` : ''}`);
    return {
      issuer, provider, apiUrl, apiAudience: apiUrl, stats,
      close: async () => {
        await Promise.all(opened.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.all(opened.map((s) => s.close()));
    throw err;
  }
}
