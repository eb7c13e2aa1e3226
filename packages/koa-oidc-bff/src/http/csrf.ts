/**
 * Cross-site request forgery defences.
 * - API calls (`/api/*`) must carry `HX-Request: true` or `X-CSRF: 1`: custom headers that a
 *   cross-site form, image or link cannot send without a CORS preflight.
 * - State-changing forms must come from our own origin (`Origin`, else `Referer`) and carry the
 *   per-session token (`_csrf` field), synchronizer-token pattern (OWASP CSRF cheat sheet).
 */
import type Koa from 'koa';
import Tokens from 'csrf';
import { ForbiddenError } from '../errors.ts';

const tokens = new Tokens({ saltLength: 12, secretLength: 24 });

/** A new per-session CSRF secret (kept in the server-side session). */
export function newCsrfSecret(): string {
  return tokens.secretSync();
}

/** A token for `secret`, to embed in a form as `_csrf`. */
export function csrfToken(secret: string): string {
  return tokens.create(secret);
}

/** Middleware: 403 `ERR_CSRF_HEADER` (check `api_header`) unless the request carries `HX-Request: true` or `X-CSRF: 1`. */
export function requireApiHeader(): Koa.Middleware {
  return async function requireApiHeaderMiddleware(ctx, next) {
    if (ctx.get('hx-request') !== 'true' && ctx.get('x-csrf') !== '1') {
      throw new ForbiddenError('ERR_CSRF_HEADER', 'API requests must be sent by the page (HX-Request or X-CSRF header).');
    }
    await next();
  };
}

/** The refusal of a form whose `Origin`/`Referer` is not this site (403 `ERR_CSRF_ORIGIN`, check `origin`). */
export function originRefused(): ForbiddenError {
  return new ForbiddenError('ERR_CSRF_ORIGIN', 'This form was not sent from this site.');
}

/** True when `Origin` (or, without it, `Referer`) names `origin`. */
export function isSameOrigin(ctx: Koa.Context, origin: string): boolean {
  const header = ctx.get('origin') || ctx.get('referer');
  if (!header) return false;
  try {
    return new URL(header).origin === origin;
  } catch {
    return false;
  }
}

/**
 * Checks a state-changing form request: same-origin `Origin`/`Referer` and a valid `_csrf` token
 * for `secret` (undefined when the browser has no session).
 * @throws {ForbiddenError} `ERR_CSRF_ORIGIN` (check `origin`) or `ERR_CSRF_TOKEN` (check `token`).
 */
export function verifyFormRequest(ctx: Koa.Context, origin: string, secret: string | undefined, token: unknown): void {
  if (!isSameOrigin(ctx, origin)) throw originRefused();
  if (!secret || typeof token !== 'string' || !tokens.verify(secret, token)) {
    throw new ForbiddenError('ERR_CSRF_TOKEN', 'This form has expired. Reload the page and try again.');
  }
}
