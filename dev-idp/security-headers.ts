import type { Middleware } from 'koa';
import { inlineScriptSources } from './views.ts';

/**
 * Response headers for every dev-idp response. The CSP allows no script but the hashed inline
 * ones: the logout auto-submit (hash known here) and oidc-provider's form_post page, whose
 * script hash oidc-provider appends to `script-src` itself when a CSP is present.
 * No Referrer-Policy: a stricter one would make the browser send `Origin: null` with the
 * form_post to the app's /callback.
 */
export function securityHeaders(): Middleware {
  const csp = [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    `script-src 'self' ${inlineScriptSources.join(' ')}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return async function devIdpSecurityHeaders(ctx, next) {
    ctx.set('Content-Security-Policy', csp);
    ctx.set('X-Content-Type-Options', 'nosniff');
    await next();
  };
}
