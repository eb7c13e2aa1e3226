/**
 * A minimal host app for the package's own tests: the real dev IdP and a Koa app that knows
 * koa-oidc-bff only through its public exports. Both listen on port 0 of loopback.
 * The app half is what a user of the package writes (about 20 lines, marked below).
 */
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Koa from 'koa';
import Router from '@koa/router';
import { createBff, type Bff, type BffOptions, type SessionStore } from 'koa-oidc-bff';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { startDevIdp, type DevClient, type DevIdp, type DevIdpOptions } from 'koa-oidc-bff-dev-idp';

export const CLIENT_ID = 'bff-package-test';
export const CLIENT_SECRET = 'bff-package-test-client-secret-0123456789';
export const SECRET = 'bff-package-test-session-secret-0123456789abcdef';
export const ALICE = { username: 'alice', password: 'alice-password', sub: 'a1b2c3d4-alice', name: 'Alice Example', email: 'alice@example.test' };
export const BOB = { username: 'bob', password: 'bob-password', sub: 'e5f6a7b8-bob', name: 'Bob Example', email: 'bob@example.test' };

type Routes = NonNullable<BffOptions['routes']>;

export interface HostOptions {
  /** Extra createBff options (routes, apiPrefixes, render...). */
  bff?: Partial<BffOptions>;
  /** Registers the client at the dev IdP with explicit URIs built from `bff.routes` instead of the `baseUrl` shorthand. */
  explicitRedirectUris?: boolean;
  /** Adds test-only routes to the host's router (registered after the host's own routes). */
  extend?: (router: Router, bff: Bff) => void;
  /** Extra fields of the client registration at the dev IdP (auth method, jwks, DPoP...). */
  client?: Partial<DevClient>;
  /** Extra dev IdP options (par, dpopNonce, ttl, apiPort...). */
  idp?: Partial<DevIdpOptions>;
}

export interface Host {
  appUrl: string;
  idp: DevIdp;
  bff: Bff;
  app: Koa;
  /** The store given to createBff (the public memory store), to end sessions behind the app's back. */
  store: SessionStore;
  /** `app.keys` as it was right after `new Koa()`, before createBff and `app.use`. */
  keysBefore: unknown;
  close(): Promise<void>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Listens first (the IdP registration needs the app's port), starts the dev IdP, then the app. */
export async function startHost(options: HostOptions = {}): Promise<Host> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const appUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
  const routes: Routes = options.bff?.routes ?? {};
  const client: DevClient = options.explicitRedirectUris
    ? {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${appUrl}${routes.callback ?? '/callback'}`],
        postLogoutRedirectUris: [`${appUrl}${routes.postLogout ?? '/'}`],
        backchannelLogoutUri: `${appUrl}${routes.backchannelLogout ?? '/backchannel-logout'}`,
      }
    : { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: appUrl };
  const idp = await startDevIdp({
    port: 0,
    clients: [{ ...client, ...options.client }],
    dataDir: mkdtempSync(path.join(os.tmpdir(), 'bff-pkg-idp-')),
    apiPort: false,
    logger: () => undefined,
    ...options.idp,
  });
  const store = createMemoryStore();

  // ---- the host app, public exports only ----
  const app = new Koa();
  const keysBefore = app.keys;
  const bff = createBff({ issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: appUrl, secrets: [SECRET], store, ...options.bff });
  const router = new Router();
  router.get('/api/hello', bff.requireUser(), (ctx) => {
    const user = bff.user(ctx)!;
    if (ctx.get('HX-Request') === 'true') {
      ctx.type = 'html';
      ctx.body = `<p id="hello">Hello, ${escapeHtml(user.name ?? user.sub)}</p>`;
    } else {
      ctx.body = { user };
    }
  });
  router.get('/page', bff.requireUser(), (ctx) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><body hx-headers='{"X-Session-Expected": "true"}'><h1>${escapeHtml(bff.user(ctx)!.name ?? '')}</h1>`
      + `<form id="logout" method="post" action="${routes.logout ?? '/logout'}"><input type="hidden" name="_csrf" value="${bff.csrfToken(ctx)}"><button>Log out</button></form></body>`;
  });
  options.extend?.(router, bff);
  app.use(bff.middleware());
  app.use(router.routes() as unknown as Koa.Middleware);
  // ---- end of the host app ----

  app.silent = true;
  server.on('request', app.callback());
  try {
    await bff.whenReady();
  } catch (err) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await bff.close();
    await idp.close();
    throw err;
  }
  return {
    appUrl, idp, bff, app, store, keysBefore,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bff.close();
      await store.close();
      await idp.close();
    },
  };
}

/** The IdP's discovery document. */
export async function discovery(host: Host): Promise<Record<string, string | undefined>> {
  const res = await fetch(`${host.idp.issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  return (await res.json()) as Record<string, string | undefined>;
}
