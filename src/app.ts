/**
 * Builds the Koa app from a validated config. This is the one place that calls `app.use`; read
 * top to bottom, it is a request's whole path:
 * request log → error handler → known methods → security headers → static → health → session →
 * CSRF → routes.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import type Router from '@koa/router';
import { createBff, type Bff } from './auth/index.ts';
import type { Config } from './config.ts';
import { requireApiHeader } from './http/csrf.ts';
import { errorHandler } from './http/error-handler.ts';
import { knownMethodsOnly } from './http/methods.ts';
import { requestLog } from './http/request-log.ts';
import { securityHeaders } from './http/security-headers.ts';
import { staticFiles } from './http/static-files.ts';
import type { Logger } from './log.ts';
import { apiRoutes } from './routes/api.ts';
import { healthRoutes } from './routes/health.ts';
import { HTMX_CONFIG, pageRenderer } from './routes/render.ts';
import { pageRoutes } from './routes/pages.ts';
import { sessionRoutes } from './routes/sessions.ts';
import type { SessionStore } from './session/store.ts';
import { createRenderer } from './views.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDeps {
  store: SessionStore;
  logger: Logger;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export interface App {
  koa: Koa;
  bff: Bff;
  /** Stops background work (discovery retries). The store is closed by its owner. */
  close(): Promise<void>;
}

/** Koa's Middleware type and @koa/router's differ only in their context generics. */
const mw = (router: Router) => [router.routes(), router.allowedMethods()] as unknown as Koa.Middleware[];

/** Creates the app; nothing listens yet. */
export function createApp(config: Config, deps: AppDeps): App {
  const koa = new Koa({ proxy: config.trustProxy });
  const renderer = createRenderer(path.join(ROOT, 'views'), config.env === 'development');
  const bff = createBff(koa, {
    baseUrl: config.baseUrl,
    issuer: config.issuer,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    responseType: config.responseType,
    scope: config.scope,
    allowInsecureIssuer: config.insecureIssuer,
    clockTolerance: config.clockTolerance,
    idpTimeout: config.idpTimeout,
    refreshSkew: config.refreshSkew,
    sessionKeys: config.sessionKeys,
    store: deps.store,
    idleTimeout: config.idleTimeout,
    absoluteTimeout: config.absoluteTimeout,
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const page = pageRenderer(renderer, bff);
  // Koa would otherwise print errors it considers unhandled to stderr.
  koa.silent = true;

  koa.use(requestLog(deps.logger));
  koa.use(errorHandler({ renderer, logger: deps.logger, pageData: () => ({ htmxConfig: HTMX_CONFIG }) }));
  koa.use(knownMethodsOnly());
  koa.use(securityHeaders([config.issuer.origin], config.secureCookies));
  koa.use(staticFiles(path.join(ROOT, 'static')));
  for (const m of mw(healthRoutes({ oidc: bff.oidc, store: deps.store }))) koa.use(m);
  koa.use(bff.session);
  const apiHeader = requireApiHeader();
  koa.use(async function apiGuard(ctx, next) {
    return ctx.path.startsWith('/api/') ? apiHeader(ctx, next) : next();
  });
  koa.use(bff.routes);
  for (const m of mw(apiRoutes(bff, renderer, { remoteApiUrl: config.remoteApiUrl }))) koa.use(m);
  for (const m of mw(sessionRoutes({ bff, store: deps.store, page, baseUrl: config.baseUrl, logger: deps.logger, now: deps.now ?? Date.now }))) koa.use(m);
  for (const m of mw(pageRoutes(bff, page))) koa.use(m);

  return {
    koa,
    bff,
    close: () => bff.close(),
  };
}
