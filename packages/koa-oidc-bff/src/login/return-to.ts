/**
 * `returnTo` validation: only same-origin relative paths survive, everything else becomes `/`
 * (open-redirect protection, RFC 9700 4.11).
 */

const MAX_LENGTH = 2048;
// Control characters (C0, DEL, C1) and backslashes: browsers treat `\` as `/`, so `/\evil.com` is
// protocol-relative, and the URL parser drops tabs and newlines, so `/\t/evil.com` is too.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\\]/;
/** The default paths of the package's own routes: never a place to return to (no login loops). */
export const DEFAULT_AUTH_ROUTES: ReadonlySet<string> = new Set(['/login', '/callback', '/logout', '/backchannel-logout']);

/** The lower-cased, slash-trimmed set of auth route paths that `returnTo` may not name. */
export function authRouteSet(paths: Iterable<string>): ReadonlySet<string> {
  return new Set([...paths].map((p) => p.toLowerCase().replace(/\/+$/, '') || '/'));
}

/**
 * Returns `candidate` normalised (path + query + fragment) when it is a safe same-origin path on
 * `base`, else `/`. Never throws.
 * @param candidate untrusted input (query parameter, header), possibly percent-encoded.
 * @param base the app's base URL (its origin is the only one allowed).
 * @param authRoutes paths of the login, callback, logout and back-channel routes (see {@link authRouteSet}).
 */
export function safeReturnTo(candidate: unknown, base: URL, authRoutes: ReadonlySet<string> = DEFAULT_AUTH_ROUTES): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > MAX_LENGTH) return '/';
  if (!isLocalPath(candidate)) return '/';
  let decoded = candidate;
  for (let i = 0; i < 3; i++) {
    if (FORBIDDEN.test(decoded) || decoded.startsWith('//')) return '/';
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return '/';
    }
    if (next === decoded) break;
    decoded = next;
  }
  if (FORBIDDEN.test(decoded) || decoded.startsWith('//')) return '/';
  let url: URL;
  try {
    url = new URL(candidate, base);
  } catch {
    return '/';
  }
  if (url.origin !== base.origin) return '/';
  if (isAuthRoute(url.pathname, authRoutes)) return '/';
  const normalised = `${url.pathname}${url.search}${url.hash}`;
  // Checked again after normalisation: the URL parser resolves dot segments, so `/.//evil.com`
  // and `/a/..//evil.com` come out as the protocol-relative `//evil.com`.
  return isLocalPath(normalised) ? normalised : '/';
}

/** An absolute path of this origin: one leading `/`, not `//`, no control character or backslash. */
function isLocalPath(value: string): boolean {
  return value.startsWith('/') && !value.startsWith('//') && !FORBIDDEN.test(value);
}

/** `/login`, `/LOGIN/`, `/%6Cogin`...: the router matches paths case-insensitively, so compare likewise (no login loops). */
function isAuthRoute(pathname: string, authRoutes: ReadonlySet<string>): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return true;
  }
  return authRoutes.has(decoded.toLowerCase().replace(/\/+$/, '') || '/');
}

/**
 * The page a request came from, for htmx requests: the path of `HX-Current-URL` when it is
 * same-origin, else `/`.
 */
export function returnToFromCurrentUrl(currentUrl: string | undefined, base: URL, authRoutes: ReadonlySet<string> = DEFAULT_AUTH_ROUTES): string {
  if (!currentUrl) return '/';
  try {
    const url = new URL(currentUrl);
    if (url.origin !== base.origin) return '/';
    return safeReturnTo(`${url.pathname}${url.search}`, base, authRoutes);
  } catch {
    return '/';
  }
}

/** What {@link returnToForRequest} needs of a request. */
export interface ReturnToRequest {
  method: string;
  /** The request's path and query (`ctx.originalUrl`). */
  originalUrl: string;
  htmx: { request: boolean; boosted: boolean; historyRestore: boolean; currentUrl: string | undefined };
}

/**
 * Where a re-authentication should bring the user back:
 * - a navigation (a plain GET, an htmx-boosted GET or an htmx history restore): the page asked for,
 *   because that is where the user was going;
 * - any other htmx request (a button, a form, a fragment): the page it was made from
 *   (same-origin `HX-Current-URL`), because its own URL is not a page;
 * always through {@link safeReturnTo} (same origin, no auth route), else `/`.
 */
export function returnToForRequest(req: ReturnToRequest, base: URL, authRoutes: ReadonlySet<string> = DEFAULT_AUTH_ROUTES): string {
  const hx = req.htmx;
  const navigation = !hx.request || ((hx.boosted || hx.historyRestore) && (req.method === 'GET' || req.method === 'HEAD'));
  return navigation ? safeReturnTo(req.originalUrl, base, authRoutes) : returnToFromCurrentUrl(hx.currentUrl, base, authRoutes);
}

/** True for an htmx request that navigates (boosted or a history restore, GET): it is answered like a page load. */
export function isHtmxNavigation(req: Pick<ReturnToRequest, 'method' | 'htmx'>): boolean {
  return req.htmx.request && (req.htmx.boosted || req.htmx.historyRestore) && (req.method === 'GET' || req.method === 'HEAD');
}
