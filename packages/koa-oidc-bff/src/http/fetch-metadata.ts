/**
 * Fetch Metadata as a second CSRF defence (W3C Fetch Metadata Request Headers, the "resource
 * isolation policy" of web.dev/fetch-metadata): browsers say where a request comes from in
 * `Sec-Fetch-Site` and how it was made in `Sec-Fetch-Mode`. The API header, `Origin` and
 * per-session token checks stay; this one refuses cross-site state changes before any route runs.
 */
import type Koa from 'koa';
import { ForbiddenError } from '../errors.ts';
import { htmx } from './htmx.ts';

/** Methods that change state (RFC 9110 9.2.1): the only ones the guard looks at. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Middleware: a `POST`, `PUT`, `PATCH` or `DELETE` with `Sec-Fetch-Site: cross-site` is refused
 * with 403 `ERR_CSRF_FETCH_METADATA` (reported as a `csrf.rejected` event with check `fetch_metadata`), except on `exempt` paths (the IdP's
 * form_post callback and the server-to-server back-channel logout). Requests without the header
 * (old browsers, servers) and same-site ones pass on to the other checks. A safe method costs one
 * Set lookup and reads no header.
 * @param exempt lower-cased paths without trailing slash (see `authRouteSet`).
 */
export function refuseCrossSiteWrites(exempt: ReadonlySet<string>): Koa.Middleware {
  return function fetchMetadataGuard(ctx, next) {
    if (UNSAFE_METHODS.has(ctx.method) && ctx.get('sec-fetch-site') === 'cross-site' && !exempt.has(ctx.path.toLowerCase().replace(/\/+$/, '') || '/')) {
      throw new ForbiddenError('ERR_CSRF_FETCH_METADATA', 'This request was sent from another site.');
    }
    return next();
  };
}

/**
 * True for a top-level navigation (`Sec-Fetch-Mode: navigate`, or a client that sends no Fetch
 * Metadata at all), false for `fetch`, XHR and htmx requests: only a navigation may be sent on to
 * the IdP's authorization endpoint (any other request would fail on CORS there).
 */
export function isTopLevelNavigation(ctx: Koa.Context): boolean {
  if (htmx(ctx).request) return false;
  const mode = ctx.get('sec-fetch-mode');
  return mode === '' || mode === 'navigate';
}
