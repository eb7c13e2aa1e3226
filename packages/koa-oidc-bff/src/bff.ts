/**
 * `createBff(options)`: the whole OpenID Connect backend-for-frontend as Koa middleware. It
 * composes, in request order: the package's answers to failed requests (unauthenticated contract)
 * → the Fetch Metadata guard (cross-site writes refused) → the session (koa-session over a
 * SessionStore, cookie signed with the package's own keys) → the API header guard → its routes (login, callback, logout, session, back-channel logout).
 */
import type Koa from 'koa';
import compose from 'koa-compose';
import { AppError, AuthRequiredError } from './errors.ts';
import { AuthEvents, type AuthEvent, type AuthEventListener } from './events.ts';
import { answerErrors } from './http/answers.ts';
import { csrfToken, isSameOrigin, originRefused, requireApiHeader, verifyFormRequest } from './http/csrf.ts';
import { formBody } from './http/body.ts';
import { refuseCrossSiteWrites } from './http/fetch-metadata.ts';
import { silentLogger } from './log.ts';
import { LoginRateLimiter } from './login/rate-limit.ts';
import { authRoutes as authRouter } from './login/routes.ts';
import { TransactionCookies } from './login/transaction-cookies.ts';
import { TransactionCodec } from './login/transaction.ts';
import { backchannelRoutes } from './logout/backchannel-route.ts';
import { authRouteSet } from './login/return-to.ts';
import { createOidcClient } from './oidc/oidc.ts';
import { resolveOptions, type BffOptions, type RedisClientLike } from './options.ts';
import { CookieSigner } from './session/cookie-signature.ts';
import { requireUser, returnToFor } from './session/require-user.ts';
import { checkRequirement, stepUpGuard, type StepUpRequirement } from './session/step-up.ts';
import { publicJwks } from './oidc/client-auth.ts';
import { createSessionLayer, sessionState } from './session/session-middleware.ts';
import { createSessionsApi, type SessionsApi } from './session/sessions-api.ts';
import { createSessionEnder } from './session/tombstones.ts';
import { revokeTokens } from './logout/revocation.ts';
import { userSession } from './session/user-session.ts';
import { createMemoryStore } from './stores/memory.ts';
import { accessTokenGetter } from './tokens/access-token.ts';
import { createRefresher } from './tokens/refresh.ts';
import { upstreamCaller, type UpstreamRequest, type UpstreamResponse } from './tokens/upstream.ts';
import { countAuthEvents } from './telemetry/auth-metrics.ts';
import { idpFetch } from './telemetry/idp-fetch.ts';
import { inRequestContext, inRequestSpan } from './telemetry/request-span.ts';
import { serverTelemetry } from './telemetry/server-span.ts';
import { observeActiveSessions } from './telemetry/sessions-gauge.ts';
import { instrumentStore } from './telemetry/store-proxy.ts';
import { createTelemetry } from './telemetry/telemetry.ts';
import { upstreamFetch } from './telemetry/upstream-fetch.ts';

/** The logged-in user as page code sees it: display claims only (OIDC Core 5.1), never a token or secret. */
export interface BffUser {
  /** Subject identifier at the IdP (OIDC Core 2). */
  sub: string;
  name: string | undefined;
  email: string | undefined;
}

/** Readiness of the BFF's dependencies, for a `/readyz` probe. */
export interface BffReadiness {
  /** True when both checks are up. */
  ready: boolean;
  checks: { idp: 'up' | 'down'; store: 'up' | 'down' };
}

/** What {@link createBff} returns. */
export interface Bff {
  /**
   * The middleware to `app.use` before the routes it protects: answers for failed requests
   * (401/302/`HX-Redirect`), the Fetch Metadata guard (403 for a cross-site POST/PUT/PATCH/DELETE
   * outside the callback and back-channel routes), the session, the API header guard and the
   * package's routes.
   */
  middleware(): Koa.Middleware;
  /**
   * Middleware that admits only a logged-in user (sets `ctx.state.user`). Otherwise it throws
   * an AuthRequiredError that `middleware()` answers: 302 to login (navigation), 401 + fragment or
   * 401 + `HX-Redirect` (htmx), 401 JSON; 503 when the session store is down.
   * @param requirement step-up (RFC 9470): `acr` (one value or a list, any of them accepted) and/or
   *   `maxAge` (seconds since the user authenticated). When the login does not satisfy it, the
   *   user logs in again with `acr_values`/`max_age`: htmx 401 + `HX-Redirect`, navigation 302,
   *   JSON 401 `{"error":"insufficient_user_authentication"}`.
   * @throws {TypeError} at declaration, for a malformed requirement.
   */
  requireUser(requirement?: StepUpRequirement): Koa.Middleware;
  /** The logged-in user of `ctx` (display claims), or undefined. */
  user(ctx: Koa.Context): BffUser | undefined;
  /** Every claim of the user's ID token (OIDC Core 2, 5.1), for a profile page; undefined when logged out. */
  claims(ctx: Koa.Context): Promise<Record<string, unknown> | undefined>;
  /**
   * The user's access token, refreshed first (once, however many requests ask, across instances)
   * when it expires within `refreshSkew` seconds (RFC 6749 6). Never send it to the browser.
   * @throws AuthRequiredError (401 contract; the session is ended when the grant is gone),
   *   UnavailableError (503: IdP or store unreachable, the session is kept),
   *   AppError 403 `ERR_NO_ACCESS_TOKEN` (an `id_token` login has none).
   */
  getAccessToken(ctx: Koa.Context): Promise<string>;
  /**
   * Calls an upstream API with `Authorization: Bearer <access token>` (with `dpop`: `Authorization:
   * DPoP <token>` and a fresh `DPoP` proof, RFC 9449 7.1) and nothing else from the incoming
   * request (no cookie). Times out after `upstreamTimeout` seconds. An upstream 401 with
   * `error="insufficient_user_authentication"` (RFC 9470 3) becomes a step-up login, answered like
   * `requireUser({ acr, maxAge })`.
   * @returns status, headers and body text. Throws like {@link getAccessToken}, and UpstreamError (502) when unreachable.
   */
  callApi(ctx: Koa.Context, url: URL, init?: UpstreamRequest): Promise<UpstreamResponse>;
  /**
   * The client's public JWKS (RFC 7517 5) with `clientAuthentication: 'private_key_jwt'`, to
   * register at the IdP (also served at `routes.jwks`); undefined for the secret methods.
   */
  clientJwks(): { keys: Record<string, unknown>[] } | undefined;
  /** A CSRF token for a form of the current session (field `_csrf`); undefined when logged out. */
  csrfToken(ctx: Koa.Context): string | undefined;
  /**
   * Middleware for the host's own state-changing forms: parses a small urlencoded body into
   * `ctx.request.body` (413 beyond `limit`, 415 for another type) and requires a same-origin
   * `Origin`/`Referer` and a valid `_csrf` field (403 `ERR_CSRF_ORIGIN` / `ERR_CSRF_TOKEN`).
   * Mount after `requireUser()`.
   * @param options.limit largest body, bytes notation (default `4kb`).
   */
  requireCsrf(options?: { limit?: string }): Koa.Middleware;
  /** List and end the user's sessions ("Your sessions" page). */
  readonly sessions: SessionsApi;
  /** Registers a listener of auth events (`'*'` for all); returns a function that removes it. */
  on(event: AuthEvent | '*', listener: AuthEventListener): () => void;
  /** IdP discovery loaded and store answering (the store ping is bounded to 1 s). */
  readiness(): Promise<BffReadiness>;
  /**
   * Resolves once IdP discovery has succeeded (discovery retries in the background while the IdP
   * is down). Rejects only when the IdP cannot serve the options (`pushedAuthorizationRequests:
   * 'always'` without a PAR endpoint, `dpop` without DPoP support): a configuration error.
   */
  whenReady(): Promise<void>;
  /**
   * Middleware for OpenTelemetry: a server span per request named by route template, with the
   * incoming W3C `traceparent` honoured, and `http_server_request_duration_seconds`. Mount it
   * first (before the request log, so the log line can read the span's ids). A pass-through
   * when the host registered no OpenTelemetry SDK before `createBff`.
   */
  telemetry(): Koa.Middleware;
  /** Name of the session cookie (`bff.sid`, or `__Host-Http-bff.sid` on https). */
  readonly cookieName: string;
  /** Stops background work (discovery retries); closes the store only when the package created it (memory default). */
  close(): Promise<void>;
}

/**
 * Creates the BFF. Nothing of the host app is changed (`app.keys`, `app.proxy` stay the host's).
 * Discovery starts at once and retries in the background while the IdP is down.
 * @param options see {@link BffOptions}; required: issuer, clientId, clientSecret (or clientPrivateKey), baseUrl, secrets.
 * @throws {BffOptionsError} listing every invalid option at once.
 */
export function createBff(options: BffOptions): Bff {
  const o = resolveOptions(options);
  const logger = o.logger ?? silentLogger;
  const now = o.now;
  const ownStore = o.store === undefined;
  const rawStore = o.store ?? createMemoryStore();
  if (ownStore) logger.warn({ event: 'bff.memory_store' }, 'koa-oidc-bff: no store given, sessions are kept in memory (lost on restart, not shared between instances)');
  const events = new AuthEvents(logger);
  // OpenTelemetry: wired only when the host registered an SDK; otherwise nothing below is wrapped.
  const telemetry = createTelemetry();
  const telemetryOn = telemetry.metricsOn || telemetry.tracingOn;
  const store = telemetryOn ? instrumentStore(rawStore, telemetry) : rawStore;
  if (telemetry.metricsOn) {
    countAuthEvents(events, telemetry);
    observeActiveSessions(rawStore, telemetry, now);
  }
  const cookieName = o.cookies.session;
  const oidc = createOidcClient({
    issuer: o.issuer,
    clientId: o.clientId,
    credentials: o.clientKey ? { method: 'private_key_jwt', key: o.clientKey } : { method: o.clientAuthentication as 'client_secret_basic' | 'client_secret_post', secret: o.clientSecret ?? '' },
    pushedAuthorizationRequests: o.pushedAuthorizationRequests,
    dpop: o.dpop,
    onUnsuitable: (err) => logger.error({ event: 'discovery.unsuitable', issuer: o.issuer.href, reason: err.message }, 'the IdP cannot serve these options; login is unavailable'),
    responseType: o.responseType,
    allowInsecureIssuer: o.insecureIssuer,
    clockTolerance: o.clockTolerance,
    timeout: o.idpTimeout,
    onDiscoveryError: (err, retryInMs) => logger.warn({ event: 'discovery.failed', issuer: o.issuer.href, err: String(err), cause: causeOf(err), retryInMs }, 'IdP discovery failed; retrying'),
    onDiscovered: () => logger.info({ event: 'discovery.succeeded', issuer: o.issuer.href }, 'IdP discovery succeeded'),
    instrumentFetch: telemetryOn ? (nameOf, background) => idpFetch(telemetry, nameOf, { background }) : undefined,
    now,
    onJwksFetch: (info) => {
      if (info.reason === 'failed') logger.warn({ event: 'jwks.fetch_failed', cause: info.cause }, 'the IdP signing keys (JWKS) could not be fetched');
      else logger.info({ event: 'jwks.fetched', reason: info.reason, keys: info.keys }, 'IdP signing keys (JWKS) fetched');
    },
  });
  // The store's own Redis connection, when it has one, shares the per-IP login limit between instances.
  const { client: storeRedis, prefix: storePrefix } = rawStore as { client?: RedisClientLike; prefix?: unknown };
  const loginLimiter = new LoginRateLimiter({
    perIpPerMinute: o.loginRateLimit.perIpPerMinute,
    perInstancePerSecond: o.loginRateLimit.perInstancePerSecond,
    redis: o.loginRateLimit.redis ?? ((rawStore.kind === 'redis' || rawStore.kind === 'redis-cluster') && typeof storeRedis?.evalsha === 'function' ? storeRedis : undefined),
    keyPrefix: typeof storePrefix === 'string' ? storePrefix : 'bff:',
  });
  const sessionLayer = createSessionLayer({
    // koa-session saves only the hot record; tokens live in the token record (refresher writes them).
    store,
    cookieName,
    legacyCookieName: o.cookies.legacySession,
    logger,
    signer: new CookieSigner(o.secrets),
    secure: o.https,
    idleTimeout: o.idleTimeout,
    absoluteTimeout: o.absoluteTimeout,
    now,
  });
  const revoke = revokeTokens(oidc, logger);
  const ender = createSessionEnder({ store, revoke, now });
  const router = authRouter({
    oidc,
    transactions: new TransactionCookies({ codec: new TransactionCodec(o.secrets), baseUrl: o.baseUrl, prefix: o.cookies.transactionPrefix }),
    store,
    startLogin: sessionLayer.startLogin,
    revoke,
    baseUrl: o.baseUrl,
    redirectUri: new URL(o.routes.callback, o.baseUrl),
    scope: o.scope,
    responseType: o.responseType,
    logger,
    events,
    clockTolerance: o.clockTolerance,
    now,
    loginLimiter,
    dpop: o.dpop,
    clientKey: o.clientKey,
    paths: o.routes,
  });
  // Server-to-server, beside the auth routes (one allowedMethods answers 405 for both).
  router.use(backchannelRoutes({ oidc, store, ender, clockTolerance: o.clockTolerance, logger, events, path: o.routes.backchannelLogout }).routes());
  const refresher = createRefresher({ store, oidc, refreshSkew: o.refreshSkew, idpTimeout: o.idpTimeout, logger, events, now });
  const authRoutes = authRouteSet([o.routes.login, o.routes.callback, o.routes.logout, o.routes.backchannelLogout]);
  const credentialsOf = accessTokenGetter({ refresher, store, baseUrl: o.baseUrl, authRoutes, now });
  // Its store reads and a refresh's store and IdP calls are children of a sampled request's span.
  const getAccessCredentials = (ctx: Koa.Context) => inRequestContext(ctx, credentialsOf, ctx, undefined);
  const apiHeader = requireApiHeader();
  const prefixes = [...o.apiPrefixes];
  // @koa/router's context type is stricter than Koa's Middleware; the runtime contract is the same.
  // The router runs only for its own paths (matched as @koa/router does: any case, trailing slash
  // optional); every other request skips its matching pass.
  const routePaths = authRouteSet([o.routes.login, o.routes.callback, o.routes.logout, o.routes.session, o.routes.backchannelLogout, ...(o.clientKey ? [o.routes.jwks] : [])]);
  const ownRoutes = compose([router.routes(), router.allowedMethods()] as unknown as Koa.Middleware[]);
  const composed = compose<Koa.Context>([
    answerErrors({ loginPath: o.routes.login, render: o.render ?? {}, logger, events }),
    // Cross-site state changes stop here, before the session is read; the IdP's form_post and its back-channel calls are cross-site by nature.
    refuseCrossSiteWrites(authRouteSet([o.routes.callback, o.routes.backchannelLogout])),
    sessionLayer.middleware,
    async function apiHeaderGuard(ctx: Koa.Context, next: Koa.Next) {
      return prefixes.some((p) => ctx.path.startsWith(p)) ? apiHeader(ctx, next) : next();
    },
    function bffRoutes(ctx: Koa.Context, next: Koa.Next) {
      // The auth routes (login, callback, logout, sessions, back-channel logout) are short and rare:
      // a sampled one runs in its span's context, so its store and IdP calls are its children.
      return routePaths.has(ctx.path.toLowerCase().replace(/\/+$/, '') || '/') ? inRequestContext(ctx, ownRoutes, ctx, next) : next();
    },
  ]) as unknown as Koa.Middleware;
  const userGuard = requireUser(o.baseUrl, events, authRoutes, store);
  const serverSpan = serverTelemetry(telemetry);
  const tokensOf = (id: string, at: number) => store.getTokens(id, at);
  const origin = o.baseUrl.origin;

  return {
    middleware: () => composed,
    requireUser(requirement) {
      if (!requirement) return userGuard;
      const stepUp = stepUpGuard(checkRequirement(requirement), store, o.baseUrl, now, authRoutes);
      return compose<Koa.Context>([userGuard, stepUp]) as unknown as Koa.Middleware;
    },
    user(ctx) {
      const s = userSession(ctx);
      return s ? { sub: s.user.sub, name: s.user.name, email: s.user.email } : undefined;
    },
    async claims(ctx) {
      const record = sessionState(ctx).record;
      if (!record || !userSession(ctx)) return undefined;
      const claims = (await inRequestSpan(ctx, tokensOf, record.id, now()))?.claims;
      return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
    },
    getAccessToken: async (ctx) => (await getAccessCredentials(ctx)).accessToken,
    callApi: upstreamCaller({ getAccessCredentials, baseUrl: o.baseUrl, authRoutes, timeoutMs: o.upstreamTimeout * 1000, fetch: telemetryOn ? upstreamFetch(telemetry) : undefined }),
    clientJwks: () => (o.clientKey ? publicJwks(o.clientKey) : undefined),
    csrfToken(ctx) {
      const s = userSession(ctx);
      return s ? csrfToken(s.csrfSecret) : undefined;
    },
    requireCsrf(csrfOptions = {}) {
      const parse = formBody({ limit: csrfOptions.limit ?? '4kb', malformed: () => new AppError(400, 'ERR_BAD_REQUEST', 'The form could not be read.') });
      return compose<Koa.Context>([parse, async function requireCsrfToken(ctx: Koa.Context, next: Koa.Next) {
        const s = userSession(ctx);
        if (!s) {
          if (!isSameOrigin(ctx, origin)) throw originRefused();
          throw new AuthRequiredError(sessionState(ctx).cookiePresent, returnToFor(ctx, o.baseUrl, authRoutes));
        }
        const body = (ctx.request.body ?? {}) as Record<string, unknown>;
        verifyFormRequest(ctx, origin, s.csrfSecret, body._csrf);
        await next();
      }]);
    },
    sessions: createSessionsApi({ store, events, ender, now }),
    on: (event, listener) => events.on(event, listener),
    async readiness() {
      const storeUp = await Promise.race([
        store.ping().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
      ]);
      const idp = oidc.ready;
      return { ready: storeUp && idp, checks: { idp: idp ? 'up' : 'down', store: storeUp ? 'up' : 'down' } };
    },
    whenReady: () => oidc.whenReady(),
    telemetry: () => serverSpan,
    cookieName,
    async close() {
      oidc.close();
      if (ownStore) await store.close();
    },
  };
}

/** The low-level reason of a failed fetch (`ECONNREFUSED`, `TimeoutError`, `bad port`...), which `fetch failed` hides. */
function causeOf(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown; name?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.name === 'string' && cause.name !== 'Error') return cause.name;
  return typeof cause?.message === 'string' ? cause.message : undefined;
}

