/**
 * "You are signed out", once: a successful `POST /logout` (a 303 to the IdP's end-session endpoint
 * or straight home) leaves a short-lived flag cookie; the next home page shows the notice and
 * clears it. The flag says nothing about the user (its value is `1`) and is HttpOnly.
 */
import type Koa from 'koa';

const COOKIE = 'bff_signed_out';
/** Long enough for the round trip through the IdP's logout page, short enough to be forgotten. */
const MAX_AGE_MS = 5 * 60_000;

/** Middleware, mounted before the BFF's routes: marks a browser whose logout was answered with a redirect. */
export function markSignedOut(logoutPath: string): Koa.Middleware {
  return async function markSignedOutMiddleware(ctx, next) {
    // Every other request passes straight through (the authenticated GET path pays one comparison).
    if (ctx.method !== 'POST' || ctx.path !== logoutPath) return next();
    await next();
    // The logout's answers: 303 to the IdP (or home), or for htmx 204 + HX-Redirect.
    const redirected = ctx.status === 303 || (ctx.status === 204 && ctx.response.get('HX-Redirect') !== '');
    if (redirected) {
      // Lax: the flag must come back with the IdP's top-level redirect to the app.
      ctx.cookies.set(COOKIE, '1', { httpOnly: true, sameSite: 'lax', maxAge: MAX_AGE_MS, secure: ctx.secure, overwrite: true });
    }
  };
}

/** True once after a logout: reads and clears the flag. */
export function takeSignedOut(ctx: Koa.Context): boolean {
  if (ctx.cookies.get(COOKIE) !== '1') return false;
  ctx.cookies.set(COOKIE, null, { httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
  return true;
}
