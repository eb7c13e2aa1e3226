/**
 * koa-oidc-bff-dev-idp: a development OpenID Provider (oidc-provider 9) for trying and testing
 * OpenID Connect relying parties offline. DEVELOPMENT ONLY: sample accounts with known passwords,
 * well-known secrets, in-memory state, loopback only. See README.md.
 */
import { join, resolve } from 'node:path';
import type ProviderType from 'oidc-provider';
import { accountDirectory, loadAccountsFile, validateAccounts, type Account } from './accounts.ts';
import { validateClients, type DevClient } from './clients.ts';
import { interactionRoutes } from './interactions.ts';
import { KeyRotation } from './key-rotation.ts';
import { loadOrCreateSigningKeys } from './keys.ts';
import { impliedConsentForOfflineAccess } from './offline-access.ts';
import { listenOnLoopback, type LoopbackServer } from './loopback-server.ts';
import { PACKAGE_ROOT } from './package-root.ts';
import { createProvider, DEFAULT_TTL, type DevIdpTtl } from './provider.ts';
import { createResourceServer } from './resource-server.ts';
import { securityHeaders } from './security-headers.ts';
import { countProviderEvents, type DevIdpStats } from './stats.ts';

export type { Account, AccountClaims } from './accounts.ts';
export { validateAccounts, loadAccountsFile } from './accounts.ts';
export type { DevClient, DevGrantType, DevResponseType, TokenEndpointAuthMethod } from './clients.ts';
export { validateClients } from './clients.ts';
export type { DevIdpStats } from './stats.ts';
export type { DevIdpTtl } from './provider.ts';
export { DEFAULT_TTL } from './provider.ts';
export { ACR_MFA, ACR_PASSWORD } from './step-up.ts';

/** Absolute path of the sample accounts shipped with the package (alice, bob, ...). */
export const DEFAULT_ACCOUNTS_PATH = join(PACKAGE_ROOT, 'accounts.json');

/**
 * Where the signing keys are kept when `dataDir` is not given: `.data/dev-idp`, relative to the
 * working directory at startup (never inside node_modules). Add `.data/` to your .gitignore.
 */
export const DEFAULT_DATA_DIR = join('.data', 'dev-idp');

/** Options of startDevIdp. Only `clients` is required. */
export interface DevIdpOptions {
  /** TCP port of the IdP; 0 = a free port (read it back from `issuer`). Default 4000. */
  port?: number;
  /** Hostname in the issuer URL: 'localhost' (default) or '127.0.0.1' (another site than an app on localhost). Listens on loopback only. */
  host?: string | undefined;
  /** Accounts, or the path of an accounts JSON file. Default: the package's sample accounts (DEFAULT_ACCOUNTS_PATH). */
  accounts?: Account[] | string | undefined;
  /** The apps to register (at least one); see DevClient. Checked at startup. */
  clients: DevClient[];
  /** Directory of the generated signing keys (`jwks.json`, created if missing, mode 0700). Default DEFAULT_DATA_DIR. */
  dataDir?: string | undefined;
  /** Lifetimes in seconds, merged over DEFAULT_TTL (access token 10 min, ID token 1 h, refresh token, session and grant 24 h). */
  ttl?: DevIdpTtl | undefined;
  /** Port of the dev resource server (0 = a free port); false = none, and opaque access tokens. Default 4100. */
  apiPort?: number | false | undefined;
  /**
   * Pushed authorization requests (RFC 9126): 'off' (default: not advertised, so apps send plain
   * authorization requests), 'optional' (advertised in discovery) or 'required' (plain
   * authorization requests are refused).
   */
  par?: 'off' | 'optional' | 'required' | undefined;
  /** DPoP (RFC 9449): demand server-issued nonces in proofs at the token endpoint and the dev API. Default false. */
  dpopNonce?: boolean | undefined;
  /** Receives the startup lines, back-channel failures and server errors. Default console.log. */
  logger?: ((line: string) => void) | undefined;
}

/** A running dev-idp, as returned by startDevIdp. */
export interface DevIdp {
  /** The issuer, e.g. http://localhost:54321 (the real port, no trailing slash). Discovery is at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /** The oidc-provider instance, for tests (revoke grants, listen to events, ...). */
  provider: ProviderType;
  /** Base URL of the dev resource server, e.g. http://localhost:4100 (its API is GET /resource/hello); undefined when apiPort is false. */
  apiUrl: string | undefined;
  /** The `aud` of JWT access tokens (equal to apiUrl); undefined when the API is off. */
  apiAudience: string | undefined;
  /** Live counters of token requests and back-channel logouts. */
  stats: DevIdpStats;
  /**
   * Signing key rotation at runtime, for testing relying parties: `rotate()` publishes new keys
   * that sign from then on (the old ones stay published), `retire(kids)` removes keys from the
   * JWKS, `kids` and `keys` show what is published. In memory only: a restart loads the data
   * directory's keys again.
   */
  keyRotation: KeyRotation;
  /** Stops both servers and closes every connection, keep-alive ones included. */
  close(): Promise<void>;
}

async function checkRegistrations(provider: ProviderType, clients: DevClient[]): Promise<void> {
  const problems: string[] = [];
  for (const client of clients) {
    try {
      await provider.Client.find(client.clientId);
    } catch (err) {
      const { error_description: description, message } = err as { error_description?: string; message: string };
      problems.push(`client "${client.clientId}": ${description ?? message}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`dev-idp: oidc-provider refused the client registration:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Starts the development OpenID Provider (and, unless apiPort is false, the dev resource
 * server) on loopback. It listens first, so that with port 0 the issuer carries the real port,
 * then builds the provider.
 * Input: DevIdpOptions. Output: a running DevIdp; call close() when done.
 * Throws (leaving nothing listening) on invalid accounts or clients (one message listing every
 * problem), an unusable dataDir, or a port in use (EADDRINUSE).
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const log = options.logger ?? ((line: string) => console.log(line));
  const host = options.host ?? 'localhost';
  if (host !== 'localhost' && host !== '127.0.0.1') {
    throw new Error(`dev-idp: host must be 'localhost' or '127.0.0.1', got '${String(host)}'`);
  }
  const clients = validateClients(options.clients, 'options.clients');
  const source = options.accounts ?? DEFAULT_ACCOUNTS_PATH;
  const accounts = accountDirectory(typeof source === 'string'
    ? await loadAccountsFile(source)
    : validateAccounts(source, 'options.accounts'));
  const keys = await loadOrCreateSigningKeys(resolve(options.dataDir ?? DEFAULT_DATA_DIR));

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
      issuer, accounts, clients, keys, apiAudience: apiUrl, ttl: { ...DEFAULT_TTL, ...options.ttl },
      par: options.par ?? 'off', dpopNonce: options.dpopNonce === true,
    });
    // Fail at startup, not at the first login, when a registration is invalid.
    await checkRegistrations(provider, clients);
    const stats = countProviderEvents(provider, log);
    provider.use(securityHeaders());
    provider.use(impliedConsentForOfflineAccess(provider.pathFor('authorization'), options.par === 'optional' || options.par === 'required' ? provider.pathFor('pushed_authorization_request') : undefined));
    provider.use(interactionRoutes(provider, accounts, log));
    idpServer.handle(provider.callback());
    if (apiServer && apiUrl) {
      apiServer.handle(createResourceServer({ issuer, jwksUri: `${issuer}/jwks`, audience: apiUrl, dpopNonce: options.dpopNonce === true }).callback());
    }

    log('dev-idp: DEVELOPMENT ONLY, test accounts and well-known secrets; never expose it or use it for real users');
    log(`dev-idp: issuer ${issuer}${apiUrl ? `, dev API ${apiUrl}/resource/hello` : ''}`);
    return {
      issuer, provider, apiUrl, apiAudience: apiUrl, stats,
      keyRotation: new KeyRotation(provider, keys),
      close: async () => {
        await Promise.all(opened.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.all(opened.map((s) => s.close()));
    throw err;
  }
}
