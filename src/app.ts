/**
 * Builds the Koa app from a validated config. This is the one place that calls `app.use`; read
 * top to bottom, it is a request's whole path:
 * telemetry (server span) → request log → security headers → error handler → known methods → health →
 * static → signed-out flag →
 * the BFF (its answers, session, API header guard, login/callback/logout routes) → routes.
 * The BFF is the `koa-oidc-bff` package, used only through its public exports.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import { createBff, type Bff, type SessionStore } from 'koa-oidc-bff';
import { bffOptions, type Config } from './config.ts';
import { errorHandler, errorRenderer } from './http/error-handler.ts';
import { knownMethodsOnly } from './http/methods.ts';
import { requestLog } from './http/request-log.ts';
import { securityHeaderSet, securityHeaders } from './http/security-headers.ts';
import { markSignedOut } from './http/signed-out-notice.ts';
import { staticFiles } from './http/static-files.ts';
import type { Logger } from './log.ts';
import { apiRoutes } from './routes/api.ts';
import { healthRoutes } from './routes/health.ts';
import { HTMX_CONFIG, pageRenderer } from './routes/render.ts';
import { pageRoutes } from './routes/pages.ts';
import { sessionRoutes } from './routes/sessions.ts';
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
  /** The security headers of every answer, for the server's own answers to malformed requests ({@link listen}'s `headers`). */
  securityHeaders: Readonly<Record<string, string>>;
  /** Stops background work (discovery retries). The store is closed by its owner. */
  close(): Promise<void>;
}

/** Koa's Middleware type and @koa/router's differ only in their context generics. */
const mw = (router: Router) => [router.routes(), router.allowedMethods()] as unknown as Koa.Middleware[];

/** Creates the app; nothing listens yet. */
export function createApp(config: Config, deps: AppDeps): App {
  const koa = new Koa({ proxy: config.trustProxy });
  const renderer = createRenderer(path.join(ROOT, 'views'), config.env === 'development');
  const renderError = errorRenderer(renderer, () => ({ htmxConfig: HTMX_CONFIG }));
  const bff = createBff({
    ...bffOptions(config),
    store: deps.store,
    logger: deps.logger,
    render: {
      notLoggedIn: (_ctx, data) => renderer.render('partials/not-logged-in', data),
      error: renderError,
    },
    ...(deps.now ? { now: deps.now } : {}),
  });
  const page = pageRenderer(renderer, bff);
  // Koa would otherwise print errors it considers unhandled to stderr.
  koa.silent = true;

  // Computed once: the middleware and the server's own answers to malformed requests share it.
  const headerSet = securityHeaderSet([config.issuer.origin], config.secureCookies);
  // First: the request's server span (OpenTelemetry, when an SDK is started), so the request log line reads its ids.
  koa.use(bff.telemetry());
  koa.use(requestLog(deps.logger));
  // Before the error handler: every answer, whatever stage produced it (405, 404, body limits,
  // the error handler's own pages), carries the headers; nothing below removes them.
  koa.use(securityHeaders(headerSet));
  koa.use(errorHandler({ render: renderError, logger: deps.logger }));
  koa.use(knownMethodsOnly());
  koa.use(healthRoutes(bff));
  koa.use(staticFiles(path.join(ROOT, 'static')));
  // The home page's "You are signed out" once after a logout (the views post to the default /logout).
  koa.use(markSignedOut('/logout'));
  koa.use(bff.middleware());
  // One router for the demo's routes: one matching pass per request (nested routers are merged into it).
  const routes = new Router();
  routes.use(apiRoutes(bff, renderer, { remoteApiUrl: config.remoteApiUrl }).routes());
  const { acr, maxAge } = config.stepUp;
  const stepUp = acr !== undefined || maxAge !== undefined ? { ...(acr !== undefined ? { acr: acr.split(' ') } : {}), ...(maxAge !== undefined ? { maxAge } : {}) } : undefined;
  routes.use(sessionRoutes({ bff, page, stepUp }).routes());
  routes.use(pageRoutes(bff, page).routes());
  for (const m of mw(routes)) koa.use(m);

  return {
    koa,
    bff,
    securityHeaders: headerSet,
    close: () => bff.close(),
  };
}
