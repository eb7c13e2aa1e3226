/**
 * The BFF's own routes: `GET /login`, `POST /callback` (form_post), `POST /logout`,
 * `GET /api/session`. Handlers parse input, call the protocol modules, then redirect or answer.
 */
import Router from '@koa/router';
import type Koa from 'koa';
import * as client from 'openid-client';
import { AppError, AuthRequiredError } from '../errors.ts';
import { formBody } from '../http/body.ts';
import { isTopLevelNavigation } from '../http/fetch-metadata.ts';
import { htmx, setHxRedirect } from '../http/htmx.ts';
import { isSameOrigin, newCsrfSecret, originRefused, requireApiHeader, verifyFormRequest } from '../http/csrf.ts';
import type { BffLogger as Logger } from '../log.ts';
import { assertSessionLoaded, sessionState, type SessionLayer } from '../session/session-middleware.ts';
import { AUTH_EVENTS, type AuthEvents } from '../events.ts';
import { buildAuthorizationRequest, completeLogin } from './flow.ts';
import { JwksUnavailableError, jwsKid } from '../oidc/jwks-cache.ts';
import { loginErrorFrom, loginFailure } from '../oidc/oidc-errors.ts';
import type { OidcClient } from '../oidc/oidc.ts';
import type { LoginRateLimiter } from './rate-limit.ts';
import { authRouteSet, safeReturnTo } from './return-to.ts';
import { TRANSACTION_TTL, type TransactionCookies } from './transaction-cookies.ts';
import { digest } from './transaction.ts';
import { endSession, userSession } from '../session/user-session.ts';
import { namesEndedSession } from '../session/tombstones.ts';
import type { Revoke } from '../logout/revocation.ts';
import { tokensOf } from '../tokens/refresh.ts';
import type { SessionStore } from '../session/store.ts';
import { publicJwks } from '../oidc/client-auth.ts';
import type { ClientKey } from '../oidc/client-key.ts';
import { ACR_VALUES_PATTERN } from '../session/step-up.ts';
import { newDPoPKey } from '../tokens/dpop.ts';

export interface AuthRoutesOptions {
  oidc: OidcClient;
  transactions: TransactionCookies;
  store: SessionStore;
  /** Stores a login under a fresh session id (the session layer's). */
  startLogin: SessionLayer['startLogin'];
  /** Revokes tokens at the IdP (RFC 7009), best effort. */
  revoke: Revoke;
  baseUrl: URL;
  redirectUri: URL;
  scope: string;
  responseType: 'code' | 'id_token';
  logger: Logger;
  /** Where auth events go (log line and host listeners). */
  events: AuthEvents;
  /** Seconds of clock difference accepted with the IdP. */
  clockTolerance: number;
  now: () => number;
  /** Bounds on starting logins (per client IP, per instance). */
  loginLimiter: LoginRateLimiter;
  /** DPoP (RFC 9449): a key pair per session, tokens bound to it. */
  dpop: boolean;
  /** The `private_key_jwt` key, whose public JWKS is served at `paths.jwks`; undefined: no JWKS route. */
  clientKey: ClientKey | undefined;
  /** Paths of the routes (see BffOptions.routes). */
  paths: { login: string; callback: string; logout: string; session: string; backchannelLogout: string; postLogout: string; jwks: string };
}

/** Longest `max_age` accepted at the login route: one year, in seconds. */
const MAX_AGE_LIMIT = 365 * 24 * 3600;

/** Fields of an authorization response we accept (OIDC Core 3.1.2.5, 3.2.2.5, RFC 9207). */
const CALLBACK_FIELDS = ['code', 'state', 'id_token', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

/** Builds the router with the BFF routes: login, callback, logout and the session endpoint. */
export function authRoutes(options: AuthRoutesOptions): Router {
  const { oidc, transactions, store, baseUrl, logger, now, events } = options;
  const authRoutes = authRouteSet([options.paths.login, options.paths.callback, options.paths.logout, options.paths.backchannelLogout]);
  const router = new Router();
  // Small urlencoded forms only (limits in http/body.ts).
  const parseForm = formBody({ malformed: () => loginFailure('ERR_LOGIN_BAD_REQUEST', '/') });

  router.get(options.paths.login, async function login(ctx) {
    const returnTo = safeReturnTo(ctx.query.returnTo, baseUrl, authRoutes);
    ctx.set('Cache-Control', 'no-store');
    ctx.vary('Sec-Fetch-Mode');
    // Every request to /login counts, navigation or not: a loop of them is what the limit is for.
    const decision = await options.loginLimiter.consume(ctx.ip);
    if (!decision.allowed) {
      const wait = decision.retryAfter === 1 ? 'a second' : `${decision.retryAfter} seconds`;
      const err = loginFailure('ERR_LOGIN_RATE_LIMITED', returnTo, {
        detail: `${decision.limit === 'ip' ? 'per-IP' : 'per-instance'} login limit`,
        headers: { 'Retry-After': String(decision.retryAfter) },
        message: `Too many logins were started. Please wait ${wait}, then try again.`,
      });
      logFailedLogin(ctx, err);
      throw err;
    }
    // Only a top-level navigation can follow a redirect to the IdP; a fetch, XHR or htmx request
    // gets the unauthenticated answer (401 JSON, or 401 + HX-Redirect back here), and no transaction.
    if (!isTopLevelNavigation(ctx)) throw new AuthRequiredError(sessionState(ctx).cookiePresent, returnTo, true);
    const { acrValues, maxAge } = stepUpParams(ctx.query);
    let config;
    try {
      config = oidc.configuration();
    } catch (err) {
      // Discovery has not succeeded yet (IdP down since startup): 503, logged as a failed login.
      logFailedLogin(ctx, err);
      throw err;
    }
    // A browser whose cookie names a session its user (or the IdP) ended gives its credentials again.
    const reauthenticate = await namesEndedSession(ctx, store);
    let request;
    try {
      request = await buildAuthorizationRequest(config, { redirectUri: options.redirectUri, scope: options.scope, responseType: options.responseType, returnTo, now: now(), usePar: oidc.usePar, acrValues, maxAge, reauthenticate });
    } catch (err) {
      // The PAR endpoint refused or failed: 503, logged as a failed login.
      logFailedLogin(ctx, err);
      throw err;
    }
    const { url, transaction } = request;
    await transactions.save(ctx, transaction);
    events.emit(AUTH_EVENTS.loginStarted, { requestId: requestIdOf(ctx) });
    redirectBrowser(ctx, url.href, 302);
  });

  // Every answer of /callback depends on (and may create) the session: never cached.
  // When each callback request arrived (performance.now() ms), for the duration its event reports.
  const callbackStarted = new WeakMap<Koa.Context, number>();
  router.post(options.paths.callback, async function logLoginFailure(ctx, next) {
    const started = performance.now();
    callbackStarted.set(ctx, started);
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (err) {
      // The one log line of a failed login (the error handler does not log LoginErrors again).
      logFailedLogin(ctx, err, performance.now() - started);
      throw err;
    }
  }, parseForm, async function callback(ctx) {
    await handleCallback(ctx);
  });

  function logFailedLogin(ctx: Koa.Context, err: unknown, durationMs?: number): void {
    events.emit(AUTH_EVENTS.loginFailed, {
      reason: err instanceof AppError ? err.code : 'ERR_INTERNAL',
      detail: err instanceof AppError ? err.detail : undefined,
      requestId: requestIdOf(ctx),
      durationMs,
    });
  }

  async function handleCallback(ctx: Koa.Context): Promise<void> {
    const form = callbackForm(ctx.request.body);
    const state = form.state;
    if (!state) throw loginFailure('ERR_LOGIN_STATE_MISSING', '/');
    const tx = await transactions.take(ctx, state);
    if (!tx) {
      // The same browser re-sending the callback of the login that created its session: land back on the page.
      const record = sessionState(ctx).record;
      const cold = record && userSession(ctx) ? await store.getTokens(record.id, now()) : undefined;
      if (cold && cold.loginState === digest(state) && typeof cold.returnTo === 'string') {
        ctx.status = 303;
        ctx.redirect(cold.returnTo);
        return;
      }
      throw loginFailure('ERR_LOGIN_STATE_UNKNOWN', '/');
    }
    if (tx.iat + TRANSACTION_TTL < Math.floor(now() / 1000)) throw loginFailure('ERR_LOGIN_STATE_EXPIRED', tx.returnTo);
    // Claimed before the token request: two identical POSTs redeem the code once (RFC 6749 4.1.2, 10.5).
    if (!(await store.claimOnce(`state:${digest(state)}`, TRANSACTION_TTL))) {
      throw loginFailure('ERR_LOGIN_STATE_USED', tx.returnTo);
    }
    let config;
    try {
      config = await oidc.callbackConfiguration(options.responseType === 'id_token' ? jwsKid(form.id_token) : undefined);
    } catch (err) {
      throw err instanceof JwksUnavailableError ? keysUnavailable(err, tx.returnTo) : err;
    }
    // DPoP: the session's key pair, made here (never in the browser) and bound to its tokens.
    const dpopKey = options.dpop && options.responseType === 'code' ? await newDPoPKey() : undefined;
    let result;
    try {
      result = await completeLogin(config, form, tx, {
        redirectUri: options.redirectUri, responseType: options.responseType, now: now(), clockTolerance: options.clockTolerance,
        dpop: dpopKey ? client.getDPoPHandle(config, dpopKey.keyPair) : undefined,
      });
    } catch (err) {
      // The ID token named a key the cache could not fetch: unchecked, not invalid.
      const keysFailure = oidc.jwksFailure(config);
      throw keysFailure ? keysUnavailable(keysFailure, tx.returnTo) : loginErrorFrom(err, tx.returnTo, config.clientMetadata().client_id);
    }
    const claims = result.claims as Record<string, unknown>;
    let id: string;
    try {
      // Tokens and the full claim set go to the token record; the session holds the small hot part.
      // So is what only a replayed callback needs (`loginState`, `returnTo`); the IdP session id
      // (`sid`) is a column of the record, indexed for back-channel logout. A fresh session id
      // (session fixation, OWASP ASVS 3.2.1), or no session at all.
      id = await options.startLogin(ctx, {
        sub: String(claims.sub),
        sid: stringClaim(claims.sid),
        data: { user: { sub: String(claims.sub), name: stringClaim(claims.name), email: stringClaim(claims.email) }, csrfSecret: newCsrfSecret() },
        tokens: {
          claims,
          idToken: result.idToken,
          accessToken: result.accessToken,
          refreshToken: result.refreshToken,
          accessTokenExpiresAt: result.accessTokenExpiresAt,
          loginState: digest(state),
          returnTo: tx.returnTo,
          ...(dpopKey ? { dpopKey: dpopKey.jwk } : {}),
        },
      });
    } catch (err) {
      // No session holds these tokens: they must not outlive the failed login (RFC 7009).
      await options.revoke({ refreshToken: result.refreshToken, accessToken: result.accessToken }, { event: 'login.revocation_failed', requestId: requestIdOf(ctx) });
      throw err;
    }
    const started = callbackStarted.get(ctx);
    events.emit(AUTH_EVENTS.loginSucceeded, { sub: String(claims.sub), sessionId: id, requestId: requestIdOf(ctx), durationMs: started === undefined ? undefined : performance.now() - started });
    ctx.status = 303;
    ctx.redirect(tx.returnTo);
  }

  router.post(options.paths.logout, parseForm, async function logout(ctx) {
    // Never report "logged out" while the session could not even be read.
    assertSessionLoaded(ctx);
    const current = userSession(ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (!isSameOrigin(ctx, baseUrl.origin)) throw originRefused();
    if (current) verifyFormRequest(ctx, baseUrl.origin, current.csrfSecret, body._csrf);
    const postLogout = new URL(options.paths.postLogout, baseUrl).href;
    let destination = postLogout;
    if (current) {
      const record = sessionState(ctx).record;
      // Read before the session (and its token record) is destroyed: id_token_hint and the refresh token to revoke.
      const tokens = tokensOf(record ? ((await store.getTokens(record.id, now())) ?? {}) : {});
      events.emit(AUTH_EVENTS.logout, { sub: current.user.sub, sessionId: record?.id, requestId: requestIdOf(ctx) });
      endSession(ctx);
      // An offline_access refresh token outlives the IdP session (Back-Channel Logout 1.0, 2.7):
      // revoke it (RFC 7009) so a copy of the store cannot mint access tokens after logout.
      if (tokens.refreshToken) await options.revoke({ refreshToken: tokens.refreshToken }, { event: 'logout.revocation_failed', requestId: requestIdOf(ctx) });
      if (oidc.ready) {
        const config = oidc.configuration();
        if (config.serverMetadata().end_session_endpoint) {
          // RP-Initiated Logout 1.0, 2: end the IdP session too, and come back here logged out.
          const params: Record<string, string> = { post_logout_redirect_uri: postLogout, client_id: config.clientMetadata().client_id };
          if (tokens.idToken) params.id_token_hint = tokens.idToken;
          destination = client.buildEndSessionUrl(config, params).href;
        }
      }
    }
    ctx.set('Cache-Control', 'no-store');
    redirectBrowser(ctx, destination, 303);
  });

  router.get(options.paths.session, requireApiHeader(), async function session(ctx) {
    assertSessionLoaded(ctx);
    const current = userSession(ctx);
    const record = sessionState(ctx).record;
    ctx.set('Cache-Control', 'no-store');
    if (!current || !record) {
      ctx.status = 401;
      ctx.body = { error: 'unauthenticated' };
      return;
    }
    ctx.body = {
      user: { sub: current.user.sub, name: current.user.name, email: current.user.email },
      // Seconds since the epoch.
      expiresAt: Math.floor(Math.min(record.idleExpiresAt, record.absoluteExpiresAt) / 1000),
      idleExpiresAt: Math.floor(record.idleExpiresAt / 1000),
      absoluteExpiresAt: Math.floor(record.absoluteExpiresAt / 1000),
    };
  });

  if (options.clientKey) {
    const jwks = JSON.stringify(publicJwks(options.clientKey));
    // RFC 7517 5: the public half only, to register at the IdP (or give it this URL as jwks_uri).
    router.get(options.paths.jwks, function clientJwks(ctx) {
      ctx.set('Cache-Control', 'public, max-age=300');
      ctx.type = 'application/jwk-set+json';
      ctx.body = jwks;
    });
  }

  return router;
}

/**
 * Step-up parameters of a login (OIDC Core 3.1.2.1, RFC 9470 4): `acr_values` and `max_age` from
 * the query. They only shape the request to the IdP; the route that asked checks the result.
 * @throws {AppError} 400 `ERR_BAD_REQUEST` when malformed or repeated.
 */
function stepUpParams(query: Koa.Context['query']): { acrValues: string | undefined; maxAge: number | undefined } {
  const bad = () => new AppError(400, 'ERR_BAD_REQUEST', 'The login link is not valid.');
  const acr = query.acr_values;
  const age = query.max_age;
  if (Array.isArray(acr) || Array.isArray(age)) throw bad();
  if (acr !== undefined && !ACR_VALUES_PATTERN.test(acr)) throw bad();
  if (age !== undefined && !/^\d{1,9}$/.test(age)) throw bad();
  const maxAge = age === undefined ? undefined : Number(age);
  if (maxAge !== undefined && maxAge > MAX_AGE_LIMIT) throw bad();
  return { acrValues: acr, maxAge };
}

/**
 * Sends the browser to `location`: a `status` redirect for a navigation or a form, but for an
 * htmx request `204` + `HX-Redirect` (a 3xx would be followed inside the XHR, invisibly and, to
 * the IdP, across origins).
 */
function redirectBrowser(ctx: Koa.Context, location: string, status: 302 | 303): void {
  ctx.vary('HX-Request');
  if (htmx(ctx).request) {
    ctx.status = 204;
    setHxRedirect(ctx, location);
    return;
  }
  ctx.status = status;
  ctx.redirect(location);
}

function callbackForm(body: unknown): Record<string, string> {
  const form: Record<string, string> = {};
  if (typeof body !== 'object' || body === null) return form;
  for (const field of CALLBACK_FIELDS) {
    const value = (body as Record<string, unknown>)[field];
    // A repeated parameter is malformed (RFC 6749 3.1): refuse rather than pick one.
    if (Array.isArray(value)) throw loginFailure('ERR_LOGIN_BAD_REQUEST', '/');
    if (typeof value === 'string') form[field] = value;
  }
  return form;
}

/**
 * A login whose ID token could not be checked because the IdP's keys could not be loaded. An IdP
 * that timed out or refused the connection is unreachable (502 `ERR_LOGIN_IDP_UNREACHABLE`, as for
 * every other IdP call); keys that answered unusably, or the refetch budget spent, are 503 with
 * Retry-After.
 */
function keysUnavailable(err: JwksUnavailableError, retryPath: string) {
  const cause = err.cause as { name?: unknown; message?: unknown } | undefined;
  const timedOut = cause?.name === 'TimeoutError' || cause?.name === 'AbortError';
  if (err.reason === 'unreachable' && (timedOut || (cause instanceof TypeError && /fetch failed/i.test(String(cause.message))))) {
    return loginFailure('ERR_LOGIN_IDP_UNREACHABLE', retryPath, { detail: timedOut ? 'the JWKS request timed out' : 'the JWKS request failed' });
  }
  return loginFailure('ERR_LOGIN_IDP_KEYS_UNAVAILABLE', retryPath, { detail: err.reason, headers: { 'Retry-After': String(err.retryAfter) } });
}

function requestIdOf(ctx: Koa.Context): string | undefined {
  return typeof ctx.state.requestId === 'string' ? ctx.state.requestId : undefined;
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

