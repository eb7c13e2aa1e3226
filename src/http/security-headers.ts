/**
 * Security headers on every response (helmet): a strict Content-Security-Policy with no
 * 'unsafe-inline' or 'unsafe-eval' for scripts, frame-ancestors 'none', nosniff, Referrer-Policy same-origin, HSTS for https deployments.
 */
import type Koa from 'koa';
import helmet from 'koa-helmet';

/**
 * @param formTargets origins a form may post or redirect to besides 'self' (the IdP, for the
 *   logout redirect that follows POST /logout: CSP form-action also governs redirects).
 */
export function securityHeaders(formTargets: readonly string[], https: boolean): Koa.Middleware {
  return helmet({
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
    // same-origin: keeps Referer for our own CSRF origin check, sends nothing cross-site.
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
  });
}
