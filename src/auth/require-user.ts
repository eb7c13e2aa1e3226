/**
 * `requireUser()`: lets a request through only with a live login; otherwise throws
 * {@link AuthRequiredError} (the error handler turns it into 401/302/HX-Redirect) or, when the
 * session store is unreachable, {@link UnavailableError} (503).
 */
import type Koa from 'koa';
import { AuthRequiredError, UnavailableError } from '../errors.ts';
import { htmx } from '../http/htmx.ts';
import { sessionState } from '../session/session-middleware.ts';
import { returnToFromCurrentUrl, safeReturnTo } from './return-to.ts';
import { endSession, userSession } from './user-session.ts';

/**
 * Where the user should come back after logging in: the page (from a same-origin `HX-Current-URL`)
 * for htmx requests, the requested path for navigations.
 */
export function returnToFor(ctx: Koa.Context, baseUrl: URL): string {
  const hx = htmx(ctx);
  return hx.request ? returnToFromCurrentUrl(hx.currentUrl, baseUrl) : safeReturnTo(ctx.originalUrl, baseUrl);
}

/**
 * Middleware factory. A session cookie that names no live session means "session ended" (expired,
 * revoked, logged out elsewhere); no cookie at all means "never logged in".
 * @param baseUrl the app's base URL, for same-origin checks of the return path.
 */
export function requireUser(baseUrl: URL): Koa.Middleware {
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
    const ended = state.cookiePresent;
    // Clear a stale cookie so it is not sent again.
    if (ended) endSession(ctx);
    throw new AuthRequiredError(ended, returnToFor(ctx, baseUrl));
  };
}
