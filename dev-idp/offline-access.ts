import type { Middleware } from 'koa';

/**
 * Lets the app get refresh tokens by asking for `offline_access` without sending prompt=consent.
 *
 * OIDC Core 11 requires prompt=consent with offline_access "unless other conditions for
 * processing the request permitting offline access ... are in place", and oidc-provider drops
 * offline_access from any request without it. Here the condition is that every registered client
 * is the team's own (first-party) app, whose consent is implied: for a GET authorization request
 * with a code response type, offline_access in scope and no prompt at all, this adds
 * prompt=consent, and the interaction routes grant that consent without showing a screen.
 * An explicit prompt (e.g. prompt=login or none) is left alone, so offline_access is then
 * dropped as the spec says. POSTed authorization requests are not rewritten.
 * Input: the authorization endpoint path (provider.pathFor('authorization'), '/auth').
 */
export function impliedConsentForOfflineAccess(authorizationPath: string): Middleware {
  return async function offlineAccessImpliesConsent(ctx, next) {
    if (ctx.method === 'GET' && ctx.path === authorizationPath) {
      const query = new URLSearchParams(ctx.querystring);
      const scopes = (query.get('scope') ?? '').split(' ');
      const codeFlow = (query.get('response_type') ?? '').split(' ').includes('code');
      if (codeFlow && scopes.includes('offline_access') && !query.has('prompt')) {
        query.set('prompt', 'consent');
        ctx.querystring = query.toString();
      }
    }
    await next();
  };
}
