/**
 * Security headers on every response (helmet): a strict Content-Security-Policy with no
 * 'unsafe-inline', no framing, no MIME sniffing, same-origin referrers, cross-origin isolation of
 * the window and resources (COOP, CORP), HSTS on https.
 *
 * The headers do not depend on the request, so helmet runs once, at startup, against a stand-in
 * response, and every request gets the same header set in one `ctx.set`: helmet decides what the
 * headers say, and no request pays for its eleven middleware functions.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import helmet from 'helmet';

/**
 * The headers helmet sets with these options, computed once.
 * @param formTargets origins a form may post to besides 'self' (the IdP, for logout).
 * @param https send Strict-Transport-Security (only on an https BASE_URL).
 */
export function securityHeaderSet(formTargets: readonly string[], https: boolean): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name];
    },
  } as unknown as ServerResponse;
  let failure: unknown;
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'font-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'", ...formTargets],
        'frame-ancestors': ["'none'"],
      },
    },
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    // Headers for browsers and plug-ins long gone (IE8 downloads, Flash cross-domain policies, the
    // removed XSS auditor, DNS prefetch hints, an isolation hint Chromium now applies by default):
    // each costs every response a header and protects no current browser.
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    xDnsPrefetchControl: false,
    originAgentCluster: false,
    // frame-ancestors 'none' above is the rule; X-Frame-Options: DENY says the same to older browsers.
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  })({} as IncomingMessage, res, (err?: unknown) => {
    failure = err;
  });
  if (failure) throw failure;
  return Object.freeze(headers);
}

/** Middleware setting `headers` (from {@link securityHeaderSet}, computed once) on every response. */
export function securityHeaders(headers: Readonly<Record<string, string>>): Koa.Middleware {
  return async function setSecurityHeaders(ctx, next) {
    ctx.set(headers);
    await next();
  };
}
