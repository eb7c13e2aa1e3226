/**
 * Request methods: anything but the methods HTTP routers here know is refused with 405 before any
 * route runs. @koa/router would answer 501 (RFC 9110 15.6.2 allows either), but a 5xx reads as a
 * server fault in every error-rate alert, and an unknown method is the client's.
 */
import type Koa from 'koa';
import { AppError } from 'koa-oidc-bff';

/** Methods that reach the routers (which answer 404 or 405 with `Allow` as usual). */
const KNOWN = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Middleware: 405 `ERR_METHOD_NOT_ALLOWED` (with `Allow`) for any other method (TRACE, PROPFIND...). */
export function knownMethodsOnly(): Koa.Middleware {
  return async function knownMethodsOnlyMiddleware(ctx, next) {
    if (!KNOWN.has(ctx.method)) {
      throw new AppError(405, 'ERR_METHOD_NOT_ALLOWED', 'Method not allowed.', { headers: { Allow: 'GET, HEAD, POST' } });
    }
    await next();
  };
}
