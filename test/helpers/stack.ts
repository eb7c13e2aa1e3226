/**
 * Starts the real dev-idp and the app in-process on free ports, wired to each other, for
 * integration tests and the benchmark. No mocks: real HTTP, real oidc-provider, real openid-client.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startDevIdp, type Account, type DevIdp, type DevIdpTtl } from '../../dev-idp/index.ts';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createStore } from '../../src/session/create-store.ts';
import type { SessionStore } from 'koa-oidc-bff';

export const CLIENT_ID = 'test-client';
export const CLIENT_SECRET = 'test-client-secret-that-is-long-enough';
export const SESSION_SECRET = 'test-session-secret-0123456789abcdef';
/**
 * Settings for tests that log in many times at once on a busy machine: IdP calls may take long,
 * and the login rate limits (60 a minute per IP by default) are raised.
 */
export const GENEROUS: Record<string, string> = { IDP_TIMEOUT: '30', LOGIN_RATE_LIMIT_PER_IP: '100000', LOGIN_RATE_LIMIT_PER_INSTANCE: '100000' };

export interface StackOptions {
  /** Extra app settings (environment variable names, as in .env). */
  env?: Record<string, string>;
  /** Hostname of the IdP: '127.0.0.1' puts it on another site than the app (localhost). */
  idpHost?: 'localhost' | '127.0.0.1';
  accounts?: Account[];
  ttl?: DevIdpTtl;
  /** A store to use (not closed by the stack); default: the store named by the settings (memory unless `env` says otherwise). */
  store?: SessionStore;
  /** Start the dev resource server (default false). */
  api?: boolean;
  /** The app's clock in ms (createApp deps.now), e.g. to age login transactions or sessions. */
  now?: () => number;
  /** pino level of the captured app log (default info). */
  logLevel?: string;
  /** Pushed authorization requests at the dev-idp (default off). */
  idpPar?: 'off' | 'optional' | 'required';
  /** The dev-idp's data directory (its signing keys); default a new temporary one. Restart an IdP with the same one to keep its keys. */
  idpDataDir?: string;
}

export interface Stack {
  appUrl: string;
  idp: DevIdp;
  app: App;
  config: Config;
  store: SessionStore;
  server: http.Server;
  /** Every log line the app wrote so far, as parsed JSON. */
  logs(): Record<string, unknown>[];
  /** The raw log output. */
  logText(): string;
  close(): Promise<void>;
}

/** Listens first (so the app's base URL and the IdP's client registration agree on the port), then builds both. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const { server, port, appUrl } = await listenFirst();
  const idpDataDir = options.idpDataDir ?? mkdtempSync(path.join(os.tmpdir(), 'bff-idp-'));
  const idp = await startDevIdp({
    port: 0,
    host: options.idpHost ?? 'localhost',
    // BASE_URL may differ from where the test reaches the app (an https URL behind a simulated proxy).
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: options.env?.BASE_URL ?? appUrl }],
    dataDir: idpDataDir,
    apiPort: options.api ? 0 : false,
    logger: () => undefined,
    ...(options.idpPar ? { par: options.idpPar } : {}),
    ...(options.accounts ? { accounts: options.accounts } : {}),
    ...(options.ttl ? { ttl: options.ttl } : {}),
  });
  const running = await startApp(server, port, appUrl, idp.issuer, {
    ...options,
    env: { ...(idp.apiUrl ? { REMOTE_API_URL: idp.apiUrl } : {}), ...options.env },
  });
  return {
    ...running, idp,
    async close() {
      await running.close();
      await idp.close();
    },
  };
}

/** An http server on a free port of 127.0.0.1, reached as http://localhost:<port>; the app is attached later. */
export async function listenFirst(): Promise<{ server: http.Server; port: number; appUrl: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, port, appUrl: `http://localhost:${port}` };
}

/** The app half of a stack: builds the app against `issuer`, attaches it to `server` and waits for discovery. */
export async function startApp(
  server: http.Server, port: number, appUrl: string, issuer: string,
  options: Pick<StackOptions, 'env' | 'store' | 'now' | 'logLevel'> = {},
): Promise<Omit<Stack, 'idp'>> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    BASE_URL: appUrl,
    ISSUER_BASE_URL: issuer,
    CLIENT_ID,
    CLIENT_SECRET,
    SESSION_SECRET,
    SESSION_STORE: 'memory',
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bff-data-')),
    ...options.env,
  });
  const chunks: string[] = [];
  const logger = createLogger({
    level: options.logLevel ?? 'info',
    destination: new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } }),
  });
  const store = options.store ?? (await createStore(config, logger));
  const app = createApp(config, { store, logger, ...(options.now ? { now: options.now } : {}) });
  server.on('request', app.koa.callback());
  try {
    await app.bff.whenReady();
  } catch (err) {
    // The IdP cannot serve these settings (PUSHED_AUTHORIZATION_REQUESTS=always, DPOP=1): nothing is left running.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
    if (!options.store) await store.close();
    throw err;
  }
  const logs = () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    appUrl, app, config, store, server, logs,
    logText: () => chunks.join(''),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      if (!options.store) await store.close();
    },
  };
}

/** The IdP's discovery document (OIDC Discovery 1.0, 4), fetched from the stack's dev-idp. */
export async function idpMetadata(stack: Pick<Stack, 'idp'>): Promise<Record<string, string | undefined>> {
  const response = await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  return (await response.json()) as Record<string, string | undefined>;
}
