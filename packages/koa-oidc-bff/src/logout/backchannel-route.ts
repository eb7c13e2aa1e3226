/**
 * `POST /backchannel-logout` (OpenID Connect Back-Channel Logout 1.0, 2.5-2.8): the IdP's
 * server-to-server call telling the app that a user's IdP session ended. Not a browser request:
 * no session cookie, no CSRF header or Origin check applies; the signed Logout Token is the proof.
 */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { createRemoteJWKSet, customFetch, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import type { BffLogger as Logger } from '../log.ts';
import type { SessionStore } from '../session/store.ts';
import type { SessionEnder } from '../session/tombstones.ts';
import { LOGOUT_TOKEN_MAX_AGE, LogoutTokenError, verifyLogoutToken } from './backchannel.ts';
import { AUTH_EVENTS, type AuthEvents } from '../events.ts';
import type { OidcClient } from '../oidc/oidc.ts';

export interface BackchannelOptions {
  oidc: OidcClient;
  store: SessionStore;
  /** Seconds. */
  clockTolerance: number;
  /** Seconds before a JWKS fetch is abandoned. */
  idpTimeout: number;
  logger: Logger;
  /** Path of the endpoint. */
  path: string;
  /** Where auth events go (log line and host listeners). */
  events: AuthEvents;
  /** Ends sessions so they stay ended (tombstone, refresh token revoked). */
  ender: SessionEnder;
  /** The fetch of JWKS downloads (the telemetry wrapper when an SDK listens). */
  jwksFetch?: FetchImplementation | undefined;
}

/**
 * Builds the router. A valid, unseen Logout Token ends every session of its `sid` (when present)
 * or else of its `sub`, and is answered 200 (also when no session matched: the user may never
 * have logged in here). Anything else: 400 JSON `{"error", "error_description"}` (2.8).
 */
export function backchannelRoutes(options: BackchannelOptions): Router {
  const { oidc, store, logger, events } = options;
  const router = new Router();
  // A Logout Token is about 1 kB: forms only, small.
  const parseForm = bodyParser({ enableTypes: ['form'], formLimit: '8kb' });
  const jwks = new Map<string, JWTVerifyGetKey>();
  // A replay is possible while a token is acceptable: its maximum age and the tolerance both ways.
  const jtiTtl = LOGOUT_TOKEN_MAX_AGE + 2 * options.clockTolerance + 60;

  router.post(options.path, async function backchannelLogout(ctx) {
    ctx.set('Cache-Control', 'no-store');
    try {
      await parseForm(ctx, async () => undefined);
    } catch {
      return refuse(ctx, 'invalid_request', 'the request body could not be read (a small application/x-www-form-urlencoded form is expected)', 'body');
    }
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (typeof body.logout_token !== 'string' || body.logout_token === '') return refuse(ctx, 'invalid_request', 'logout_token is missing or repeated', 'missing');
    try {
      const config = oidc.configuration();
      const metadata = config.serverMetadata();
      if (!metadata.jwks_uri) throw new Error('the issuer publishes no jwks_uri');
      const claims = await verifyLogoutToken(body.logout_token, {
        issuer: metadata.issuer,
        clientId: config.clientMetadata().client_id,
        keys: keysFor(metadata.jwks_uri),
        algorithms: metadata.id_token_signing_alg_values_supported ?? ['RS256'],
        clockTolerance: options.clockTolerance,
      });
      // 2.6 step 7: a jti seen before is a replay.
      if (!(await store.claimOnce(`logout-jti:${hash(`${claims.iss} ${claims.jti}`)}`, jtiTtl))) {
        throw new LogoutTokenError('replay', 'logout_token was already used');
      }
      // The user's sessions are tombstoned (their browsers give credentials again) when the token
      // names the user; with a `sid` alone they are only destroyed (the store has no list by sid).
      const listed = claims.sub === undefined ? [] : (await store.listBySub(claims.sub, Date.now())).filter((r) => claims.sid === undefined || r.sid === claims.sid);
      const ended = (await options.ender.end(listed, {})) + (claims.sid !== undefined ? await store.destroyBySid(claims.sid) : await store.destroyBySub(claims.sub!));
      events.emit(AUTH_EVENTS.backchannelLogout, { sub: claims.sub, count: ended });
      ctx.status = 200;
      ctx.body = '';
    } catch (err) {
      if (err instanceof LogoutTokenError) return refuse(ctx, 'invalid_request', err.message, err.reason);
      // The IdP's discovery or the store is down. The spec answers every failure 400 (2.8).
      logger.error({ event: 'logout.backchannel_failed', err: String(err) }, 'back-channel logout failed');
      return refuse(ctx, 'temporarily_unavailable', 'the logout could not be processed now', 'unavailable');
    }
  });

  function keysFor(jwksUri: string): JWTVerifyGetKey {
    let keys = jwks.get(jwksUri);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: options.idpTimeout * 1000, ...(options.jwksFetch ? { [customFetch]: options.jwksFetch } : {}) });
      jwks.set(jwksUri, keys);
    }
    return keys;
  }

  function refuse(ctx: Koa.Context, error: string, description: string, reason: string): void {
    if (reason !== 'unavailable') logger.warn({ event: 'logout.backchannel_rejected', reason }, 'back-channel logout refused');
    ctx.status = 400;
    ctx.body = { error, error_description: description };
  }

  return router;
}

/** A short digest for store keys. */
function hash(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
