/**
 * `requireUser()`: lets a request through only with a live login; otherwise throws
 * {@link AuthRequiredError} (the error handler turns it into 401/302/HX-Redirect) or, when the
 * session store is unreachable, {@link UnavailableError} (503).
 */
import type Koa from 'koa';
import { AuthRequiredError, UnavailableError } from '../errors.ts';
import { htmx } from '../http/htmx.ts';
import { sessionState } from './session-middleware.ts';
import { AUTH_EVENTS, type AuthEvents } from '../events.ts';
import { returnToForRequest } from '../login/return-to.ts';
import type { SessionStore } from './store.ts';
import { namesEndedSession } from './tombstones.ts';
import { endSession, userSession } from './user-session.ts';

/**
 * Where the user should come back after logging in (see {@link returnToForRequest}): the requested
 * path for navigations (htmx-boosted ones included), the page (a same-origin `HX-Current-URL`) for
 * other htmx requests.
 */
export function returnToFor(ctx: Koa.Context, baseUrl: URL, authRoutes?: ReadonlySet<string>): string {
  return returnToForRequest({ method: ctx.method, originalUrl: ctx.originalUrl, htmx: htmx(ctx) }, baseUrl, authRoutes);
}

/**
 * Request header a page sends with its htmx requests when it was rendered for a logged-in user
 * (`hx-headers` on its body). With it but without a session cookie, the request comes from a tab
 * whose login ended elsewhere (logout in another tab clears the cookie every tab shares): it is
 * answered as "session ended" (re-authentication) rather than with the never-logged-in notice. It
 * only chooses between two 401 answers and grants nothing.
 */
export const SESSION_EXPECTED_HEADER = 'X-Session-Expected';

/**
 * Middleware factory. A session cookie that names no live session means "session ended" (expired,
 * revoked, logged out elsewhere), as does {@link SESSION_EXPECTED_HEADER}; no cookie at all means
 * "never logged in". A cookie naming an ended session is logged once as `session.expired` (the
 * stale cookie is cleared, unless the session was ended by its user or the IdP: that cookie stays
 * until the next login, which it makes ask for credentials).
 * @param baseUrl the app's base URL, for same-origin checks of the return path.
 * @param events where the `session.expired` event goes.
 */
export function requireUser(baseUrl: URL, events: AuthEvents, authRoutes?: ReadonlySet<string>, store?: SessionStore): Koa.Middleware {
  return async function requireUserMiddleware(ctx, next) {
    const session = userSession(ctx);
    const state = sessionState(ctx);
    if (session && state.record) {
      ctx.state.user = session.user;
      await next();
      return;
    }
    if (state.storeError) {
      throw new UnavailableError('ERR_SESSION_STORE_UNAVAILABLE', 'Sessions are temporarily unavailable. Please try again in a moment.', { cause: state.storeError });
    }
    if (state.cookiePresent) {
      // The record is gone, so its `sub` is unknown; the hash still joins this line to the login's.
      events.emit(AUTH_EVENTS.sessionExpired, { sessionId: state.cookieSessionId, requestId: typeof ctx.state.requestId === 'string' ? ctx.state.requestId : undefined });
      // Clear the stale cookie so it is not sent (and logged) again; but a tombstoned session's cookie
      // is what makes the login this answer leads to ask for credentials (a read only on this path).
      if (!store || !(await namesEndedSession(ctx, store))) endSession(ctx);
    }
    const ended = state.cookiePresent || ctx.get(SESSION_EXPECTED_HEADER) === 'true';
    throw new AuthRequiredError(ended, returnToFor(ctx, baseUrl, authRoutes));
  };
}
