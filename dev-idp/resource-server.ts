import Router from '@koa/router';
import Koa from 'koa';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/** Where the dev API trusts its tokens from. */
export interface ResourceServerOptions {
  issuer: string;
  jwksUri: string;
  /** The `aud` a token must carry, e.g. http://localhost:4100. */
  audience: string;
}

const REALM = 'dev-api';
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/;

/**
 * The dev resource server: a Koa app with one route, `GET /resource/hello`, which answers
 * 200 JSON `{ message, sub, scope, client_id }` for a valid `Authorization: Bearer <JWT>`:
 * an RFC 9068 access token (typ at+jwt) signed by the dev-idp (keys from its jwks_uri), with
 * this issuer and audience, unexpired. Otherwise 401 JSON with `WWW-Authenticate`
 * (RFC 6750 3): `Bearer realm="dev-api"` when no token was sent, and
 * `Bearer realm="dev-api", error="invalid_token", error_description="..."` for a bad one.
 */
export function createResourceServer(options: ResourceServerOptions): Koa {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const router = new Router();

  router.get('/resource/hello', async function hello(ctx) {
    ctx.set('Cache-Control', 'no-store');
    const match = BEARER.exec(ctx.get('Authorization'));
    if (!match) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Bearer realm="${REALM}"`);
      ctx.body = { error: 'missing_token', error_description: 'send Authorization: Bearer <access token>' };
      return;
    }
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['RS256', 'ES256'],
      });
      ctx.body = { message: 'Hello from the remote API', sub: payload.sub, scope: payload.scope, client_id: payload.client_id };
    } catch (err) {
      const description = `access token rejected (${(err as { code?: string }).code ?? 'invalid'})`;
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`);
      ctx.body = { error: 'invalid_token', error_description: description };
    }
  });

  const app = new Koa();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
