import Router from '@koa/router';
import Koa from 'koa';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { DPoPProofError, DPoPVerifier } from './dpop-proof.ts';
import { ACR_MFA } from './step-up.ts';

/** Where the dev API trusts its tokens from. */
export interface ResourceServerOptions {
  issuer: string;
  jwksUri: string;
  /** The `aud` a token must carry, e.g. http://localhost:4100. */
  audience: string;
  /** Demand a server-issued nonce in DPoP proofs (RFC 9449 9). Default false. */
  dpopNonce?: boolean;
}

const REALM = 'dev-api';
const AUTHORIZATION = /^(Bearer|DPoP) ([A-Za-z0-9\-._~+/]+=*)$/i;

/** A refusal with its RFC 6750 3 / RFC 9449 7.1 / RFC 9470 3 challenge. */
class Refusal extends Error {
  constructor(readonly challenge: string, readonly error: string, readonly description: string, readonly headers: Record<string, string> = {}) {
    super(description);
  }
}

/**
 * The dev resource server: a Koa app answering, for a valid access token, 200 JSON
 * `{ message, sub, scope, client_id, acr }` on
 * - `GET /resource/hello`: any valid token;
 * - `GET /resource/sensitive`: a token of a login with the dev-idp's second factor (`acr`
 *   `urn:dev-idp:acr:mfa`); otherwise 401 `WWW-Authenticate: Bearer error="insufficient_user_authentication",
 *   acr_values="urn:dev-idp:acr:mfa"` (RFC 9470 3).
 * A valid token is an RFC 9068 access token (typ at+jwt) signed by the dev-idp (keys from its
 * jwks_uri), with this issuer and audience, unexpired. A DPoP-bound token (`cnf.jkt`, RFC 9449 6)
 * is accepted only as `Authorization: DPoP <token>` with a valid `DPoP` proof of the bound key
 * (and, with `dpopNonce`, the server's nonce: 401 `DPoP error="use_dpop_nonce"` + `DPoP-Nonce`);
 * an unbound token only as `Bearer`. Refusals are 401 JSON with `WWW-Authenticate`:
 * `Bearer realm="dev-api"` when no token was sent, `error="invalid_token"` for a bad one.
 */
export function createResourceServer(options: ResourceServerOptions): Koa {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const dpop = new DPoPVerifier(options.dpopNonce === true);
  const router = new Router();

  async function authenticate(ctx: Koa.Context): Promise<JWTPayload> {
    const match = AUTHORIZATION.exec(ctx.get('Authorization'));
    if (!match) throw new Refusal(`Bearer realm="${REALM}"`, 'missing_token', 'send Authorization: Bearer <access token> (or DPoP)');
    const scheme = match[1]!.toLowerCase();
    const token = match[2]!;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
    } catch (err) {
      const description = `access token rejected (${(err as { code?: string }).code ?? 'invalid'})`;
      throw new Refusal(`${scheme === 'dpop' ? 'DPoP' : 'Bearer'} realm="${REALM}", error="invalid_token", error_description="${description}"`, 'invalid_token', description);
    }
    const jkt = (payload.cnf as { jkt?: unknown } | undefined)?.jkt;
    if (typeof jkt === 'string') {
      // RFC 9449 7.2: a bound token sent as a bearer token is refused.
      if (scheme !== 'dpop') throw new Refusal(`DPoP realm="${REALM}", error="invalid_token", error_description="DPoP-bound token sent without DPoP"`, 'invalid_token', 'DPoP-bound token sent without DPoP');
      const url = new URL(ctx.originalUrl, `${ctx.protocol}://${ctx.host}`);
      try {
        await dpop.verify(ctx.get('DPoP') || undefined, token, jkt, ctx.method, url);
      } catch (err) {
        if (!(err instanceof DPoPProofError)) throw err;
        const headers: Record<string, string> = err.error === 'use_dpop_nonce' ? { 'DPoP-Nonce': dpop.nonce() } : {};
        throw new Refusal(`DPoP realm="${REALM}", error="${err.error}", error_description="${err.message}"`, err.error, err.message, headers);
      }
    } else if (scheme !== 'bearer') {
      throw new Refusal(`Bearer realm="${REALM}", error="invalid_token", error_description="token is not DPoP-bound"`, 'invalid_token', 'token is not DPoP-bound');
    }
    return payload;
  }

  router.use(async function refusals(ctx, next) {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      ctx.status = 401;
      ctx.set('WWW-Authenticate', err.challenge);
      ctx.set(err.headers);
      ctx.body = { error: err.error, error_description: err.description };
    }
  });

  const answer = (payload: JWTPayload) => ({ message: 'Hello from the remote API', sub: payload.sub, scope: payload.scope, client_id: payload.client_id, acr: payload.acr });

  router.get('/resource/hello', async function hello(ctx) {
    ctx.body = answer(await authenticate(ctx));
  });

  router.get('/resource/sensitive', async function sensitive(ctx) {
    const payload = await authenticate(ctx);
    if (payload.acr !== ACR_MFA) {
      throw new Refusal(`Bearer realm="${REALM}", error="insufficient_user_authentication", error_description="a second factor is required", acr_values="${ACR_MFA}"`, 'insufficient_user_authentication', 'a second factor is required');
    }
    ctx.body = answer(payload);
  });

  const app = new Koa();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
