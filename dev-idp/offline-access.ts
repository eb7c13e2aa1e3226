import { Readable } from 'node:stream';
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
 * dropped as the spec says. Pushed authorization requests (RFC 9126, a POST to the PAR
 * endpoint) get the same treatment; other POSTed authorization requests are not rewritten.
 * Input: the authorization endpoint path (provider.pathFor('authorization'), '/auth') and the
 * PAR endpoint path (provider.pathFor('pushed_authorization_request'), '/request').
 */
export function impliedConsentForOfflineAccess(authorizationPath: string, parPath?: string): Middleware {
  return async function offlineAccessImpliesConsent(ctx, next) {
    if (ctx.method === 'GET' && ctx.path === authorizationPath) {
      const query = new URLSearchParams(ctx.querystring);
      if (impliesConsent(query)) ctx.querystring = query.toString();
    } else if (parPath && ctx.method === 'POST' && ctx.path === parPath && ctx.is('application/x-www-form-urlencoded')) {
      await rewriteBody(ctx.req, (body) => (impliesConsent(body) ? body : undefined));
    }
    await next();
  };
}

/** Adds prompt=consent to a code request for offline_access without a prompt; true when it did. */
function impliesConsent(params: URLSearchParams): boolean {
  const scopes = (params.get('scope') ?? '').split(' ');
  const codeFlow = (params.get('response_type') ?? '').split(' ').includes('code');
  if (!codeFlow || !scopes.includes('offline_access') || params.has('prompt')) return false;
  params.set('prompt', 'consent');
  return true;
}

/**
 * Reads a small urlencoded request body (at most 56 KiB, oidc-provider's own limit) and, when
 * `change` returns new parameters, hands oidc-provider's body reader those instead: the
 * request's `readable`, `iterator` and `content-length` are shadowed on this one request object.
 */
async function rewriteBody(req: import('node:http').IncomingMessage, change: (body: URLSearchParams) => URLSearchParams | undefined): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > 56 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  const original = Buffer.concat(chunks);
  const changed = size > 56 * 1024 ? undefined : change(new URLSearchParams(original.toString('utf8')));
  const body = changed ? Buffer.from(changed.toString()) : original;
  req.headers['content-length'] = String(body.length);
  Object.defineProperty(req, 'readable', { value: true, configurable: true });
  Object.defineProperty(req, 'iterator', { value: () => Readable.from([body])[Symbol.asyncIterator](), configurable: true });
}
