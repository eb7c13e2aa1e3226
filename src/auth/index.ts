/**
 * The BFF layer as one Koa building block, configured only through {@link BffOptions}: OpenID
 * Connect login with response_mode=form_post (openid-client), server-side sessions (koa-session
 * over a {@link SessionStore}), CSRF defences, `requireUser()`, access tokens refreshed without
 * races, calls to upstream APIs with them, and back-channel logout. It renders no views: failures
 * are thrown as {@link AppError}s for the host app's error handler.
 */
import type Koa from 'koa';
import compose from 'koa-compose';
import Keygrip from 'keygrip';
import type { Logger } from '../log.ts';
import { csrfToken } from '../http/csrf.ts';
import { sessionMiddleware } from '../session/session-middleware.ts';
import type { SessionStore } from '../session/store.ts';
import { backchannelRoutes } from './backchannel-route.ts';
import { createOidcClient, type OidcClient } from './oidc.ts';
import { createRefresher } from './refresh.ts';
import { requireUser } from './require-user.ts';
import { authRoutes } from './routes.ts';
import { guardTokenWrites } from './token-guard.ts';
import { accessTokenGetter, type GetAccessToken } from './tokens.ts';
import { TransactionCookies } from './transaction-cookies.ts';
import { TransactionCodec } from './transaction.ts';
import { upstreamCaller, type CallApi } from './upstream.ts';
import { userSession, type UserSessionData } from './user-session.ts';

export interface BffOptions {
  /** The app's public origin; the redirect URI is `baseUrl + /callback`. */
  baseUrl: URL;
  issuer: URL;
  clientId: string;
  clientSecret: string;
  responseType: 'code' | 'id_token';
  scope: string;
  /** Allow an http:// issuer (loopback development only). */
  allowInsecureIssuer: boolean;
  /** Seconds of clock difference accepted on ID token times. */
  clockTolerance: number;
  /** Seconds before an IdP request is abandoned; also bounds the wait for another instance's token refresh. */
  idpTimeout: number;
  /** Seconds: refresh the access token when it expires within this many seconds. */
  refreshSkew: number;
  /** Seconds before a call to an upstream API (`callApi`) is abandoned. Default: idpTimeout. */
  upstreamTimeout?: number;
  /** Session signing and transaction encryption secrets; the first signs. */
  sessionKeys: readonly string[];
  store: SessionStore;
  /** Seconds. */
  idleTimeout: number;
  /** Seconds. */
  absoluteTimeout: number;
  logger: Logger;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export interface Bff {
  /** koa-session middleware; mount before any route that reads the user. */
  session: Koa.Middleware;
  /** `/login`, `/callback`, `/logout`, `/api/session`, `/backchannel-logout`. */
  routes: Koa.Middleware;
  /** Middleware that admits only logged-in users. */
  requireUser(): Koa.Middleware;
  /** The current login, if any. */
  user(ctx: Koa.Context): UserSessionData | undefined;
  /**
   * The user's access token, refreshed first (once, however many requests ask) when it expires
   * within `refreshSkew` seconds. Throws AuthRequiredError (session ended when the grant is gone),
   * UnavailableError (IdP unreachable; the session is kept). Never send it to the browser.
   */
  getAccessToken: GetAccessToken;
  /** Calls an upstream API with `Authorization: Bearer <access token>` and nothing from the incoming request. */
  callApi: CallApi;
  /** A CSRF token for forms of the current session (undefined when logged out). */
  csrfToken(ctx: Koa.Context): string | undefined;
  /** Name of the session cookie. */
  readonly cookieName: string;
  readonly oidc: OidcClient;
  close(): Promise<void>;
}

/**
 * Creates the BFF layer for `app`. Sets `app.keys` from `sessionKeys` (koa-session signs with them).
 */
export function createBff(app: Koa, options: BffOptions): Bff {
  const now = options.now ?? Date.now;
  // One Keygrip for the app's lifetime (given an array, Koa builds a new one per request).
  app.keys = new Keygrip([...options.sessionKeys]);
  const https = options.baseUrl.protocol === 'https:';
  // __Host-: Secure, Path=/, no Domain; a sibling subdomain cannot plant it (RFC 6265bis 4.1.3.2).
  const cookieName = https ? '__Host-bff.sid' : 'bff.sid';
  const oidc = createOidcClient({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    responseType: options.responseType,
    allowInsecureIssuer: options.allowInsecureIssuer,
    clockTolerance: options.clockTolerance,
    timeout: options.idpTimeout,
    onDiscoveryError: (err, retryInMs) => options.logger.warn({ event: 'discovery.failed', issuer: options.issuer.href, err: String(err), cause: causeOf(err), retryInMs }, 'IdP discovery failed; retrying'),
    onDiscovered: () => options.logger.info({ event: 'discovery.succeeded', issuer: options.issuer.href }, 'IdP discovery succeeded'),
  });
  const router = authRoutes({
    oidc,
    transactions: new TransactionCookies({ codec: new TransactionCodec(options.sessionKeys), baseUrl: options.baseUrl }),
    store: options.store,
    baseUrl: options.baseUrl,
    redirectUri: new URL('/callback', options.baseUrl),
    scope: options.scope,
    responseType: options.responseType,
    logger: options.logger,
    clockTolerance: options.clockTolerance,
    now,
  });
  const refresher = createRefresher({ store: options.store, oidc, refreshSkew: options.refreshSkew, idpTimeout: options.idpTimeout, logger: options.logger, now });
  const getAccessToken = accessTokenGetter({ refresher, baseUrl: options.baseUrl });
  // Server-to-server, beside the auth routes (one allowedMethods answers 405 for both).
  router.use(backchannelRoutes({ oidc, store: options.store, clockTolerance: options.clockTolerance, idpTimeout: options.idpTimeout, logger: options.logger }).routes());
  return {
    session: sessionMiddleware(app, {
      // Tokens are written by the refresher only; a koa-session save keeps the stored ones.
      store: guardTokenWrites(options.store, options.idpTimeout, now),
      cookieName,
      secure: https,
      idleTimeout: options.idleTimeout,
      absoluteTimeout: options.absoluteTimeout,
      now,
    }),
    // @koa/router 15's context type is stricter than Koa's Middleware; the runtime contract is the same.
    routes: compose([router.routes(), router.allowedMethods()] as unknown as Koa.Middleware[]),
    requireUser: () => requireUser(options.baseUrl, options.logger),
    user: userSession,
    csrfToken(ctx) {
      const session = userSession(ctx);
      return session ? csrfToken(session.csrfSecret) : undefined;
    },
    cookieName,
    getAccessToken,
    callApi: upstreamCaller({ getAccessToken, timeoutMs: (options.upstreamTimeout ?? options.idpTimeout) * 1000 }),
    oidc,
    async close() {
      oidc.close();
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
