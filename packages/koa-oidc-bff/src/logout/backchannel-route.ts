/**
 * `POST /backchannel-logout` (OpenID Connect Back-Channel Logout 1.0, 2.5-2.8): the IdP's
 * server-to-server call telling the app that a user's IdP session ended. Not a browser request:
 * no session cookie, no CSRF header or Origin check applies; the signed Logout Token is the proof.
 */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
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
  logger: Logger;
  /** Path of the endpoint. */
  path: string;
  /** Where auth events go (log line and host listeners). */
  events: AuthEvents;
  /** Ends sessions so they stay ended (tombstone, refresh token revoked). */
  ender: SessionEnder;
}

/**
 * Builds the router. A valid, unseen Logout Token ends every session of its `sid` (when present)
 * or else of its `sub`, and is answered 200 (also when no session matched: the user may never
 * have logged in here). An invalid one: 400 JSON `{"error", "error_description"}` (2.8). A token
 * that could not be judged or acted on now (the IdP's keys or discovery unreachable, the store
 * down): 503 `temporarily_unavailable` with Retry-After, and its `jti` is not spent, so the
 * IdP's retry succeeds.
 */
export function backchannelRoutes(options: BackchannelOptions): Router {
  const { oidc, store, logger, events } = options;
  const router = new Router();
  // A Logout Token is about 1 kB: forms only, small.
  const parseForm = bodyParser({ enableTypes: ['form'], formLimit: '8kb' });
  // One jose key set per downloaded JWKS (jose caches the imported keys in it).
  const localSets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();
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
    let config;
    try {
      config = oidc.configuration();
    } catch (err) {
      return unavailable(ctx, 'discovery', err);
    }
    const metadata = config.serverMetadata();
    if (!metadata.jwks_uri) return unavailable(ctx, 'discovery', new Error('the issuer publishes no jwks_uri'));
    let claims;
    try {
      claims = await verifyLogoutToken(body.logout_token, {
        issuer: metadata.issuer,
        clientId: config.clientMetadata().client_id,
        keys: keysFor(metadata.jwks_uri),
        algorithms: metadata.id_token_signing_alg_values_supported ?? ['RS256'],
        clockTolerance: options.clockTolerance,
      });
    } catch (err) {
      if (!(err instanceof LogoutTokenError)) throw err;
      // Not checked (keys unreachable, refetch budget spent) is not invalid: let the IdP retry.
      if (err.reason === 'jwks_unavailable') return unavailable(ctx, 'jwks', err, err.retryAfter);
      return refuse(ctx, 'invalid_request', err.message, err.reason);
    }
    // 2.6 step 7: a jti seen before is a replay.
    const jtiKey = `logout-jti:${hash(`${claims.iss} ${claims.jti}`)}`;
    let first;
    try {
      first = await store.claimOnce(jtiKey, jtiTtl);
    } catch (err) {
      return unavailable(ctx, 'store', err);
    }
    if (!first) return refuse(ctx, 'invalid_request', 'logout_token was already used', 'replay');
    let ended;
    try {
      // The user's sessions are tombstoned (their browsers give credentials again) when the token
      // names the user; with a `sid` alone they are only destroyed (the store has no list by sid).
      const listed = claims.sub === undefined ? [] : (await store.listBySub(claims.sub, Date.now())).filter((r) => claims.sid === undefined || r.sid === claims.sid);
      ended = (await options.ender.end(listed, {})) + (claims.sid !== undefined ? await store.destroyBySid(claims.sid) : await store.destroyBySub(claims.sub!));
    } catch (err) {
      // The sessions still live: give the jti back, so the IdP's retry of this token is not a "replay".
      await store.releaseClaim(jtiKey).catch((releaseErr: unknown) => {
        logger.error({ event: 'logout.backchannel_release_failed', err: String(releaseErr) }, 'back-channel logout: the logout_token could not be released for a retry');
      });
      return unavailable(ctx, 'store', err);
    }
    events.emit(AUTH_EVENTS.backchannelLogout, { sub: claims.sub, count: ended });
    ctx.status = 200;
    ctx.body = '';
  });

  /** The issuer's keys for one token: the shared JWKS cache, downloaded again when stale or the `kid` is unknown. */
  function keysFor(jwksUri: string): JWTVerifyGetKey {
    return async (header, token) => {
      const jwks = await oidc.jwks.keysFor(jwksUri, header.kid);
      let local = localSets.get(jwks);
      if (!local) localSets.set(jwks, (local = createLocalJWKSet(jwks)));
      return local(header, token);
    };
  }

  function refuse(ctx: Koa.Context, error: string, description: string, reason: string): void {
    logger.warn({ event: 'logout.backchannel_rejected', reason }, 'back-channel logout refused');
    ctx.status = 400;
    ctx.body = { error, error_description: description };
  }

  /** 503: the token could not be checked or acted on now; the IdP may send it again (its jti is not spent). */
  function unavailable(ctx: Koa.Context, what: 'discovery' | 'jwks' | 'store', err: unknown, retryAfter = 5): void {
    logger.error({ event: 'logout.backchannel_failed', reason: what, err: String(err) }, 'back-channel logout could not be processed');
    ctx.status = 503;
    ctx.set('Retry-After', String(retryAfter));
    ctx.body = { error: 'temporarily_unavailable', error_description: 'the logout could not be processed now; retry later' };
  }

  return router;
}

/** A short digest for store keys. */
function hash(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
