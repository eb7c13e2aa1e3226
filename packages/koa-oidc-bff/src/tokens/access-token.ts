/**
 * `getAccessToken(ctx)`: the current user's access token, read from the session's token record
 * and refreshed first when it is about to expire (see refresh.ts for the single-flight rules).
 * Tokens never pass through `ctx.session`, so a session save can never write back old ones.
 */
import type Koa from 'koa';
import { AppError, AuthRequiredError, UnavailableError } from '../errors.ts';
import { sessionState } from '../session/session-middleware.ts';
import type { SessionStore } from '../session/store.ts';
import { SessionEndedError, tokensOf, type Refresher } from './refresh.ts';
import { returnToFor } from '../session/require-user.ts';
import { endSession, userSession } from '../session/user-session.ts';
import type { JWK } from 'jose';
import { storedDPoPKey } from './dpop.ts';

/** A function that yields a usable access token for the request's user. */
export type GetAccessToken = (ctx: Koa.Context) => Promise<string>;

/** A usable access token and, when it is DPoP-bound (RFC 9449), the session's private JWK. */
export interface AccessCredentials {
  accessToken: string;
  dpopKey: JWK | undefined;
}

/** A function that yields the request user's access token with its DPoP key. */
export type GetAccessCredentials = (ctx: Koa.Context) => Promise<AccessCredentials>;

/**
 * Builds `getAccessToken(ctx)`.
 * @returns a function resolving to the access token (a string for `Authorization: Bearer`).
 * It throws {@link AuthRequiredError} without a live session, or with `sessionEnded` (and the
 * session ended) when the grant is gone; {@link UnavailableError} (503) when the IdP or store
 * cannot be reached, the session being kept; `ERR_NO_ACCESS_TOKEN` (403) when the login has no
 * access token (RESPONSE_TYPE=id_token).
 */
export function accessTokenGetter(options: { refresher: Refresher; store: SessionStore; baseUrl: URL; authRoutes?: ReadonlySet<string>; now: () => number }): GetAccessCredentials {
  const { refresher, store, baseUrl, authRoutes, now } = options;
  return async function getAccessCredentials(ctx) {
    const session = userSession(ctx);
    const state = sessionState(ctx);
    if (!session || !state.record) {
      if (state.storeError) throw new UnavailableError('ERR_SESSION_STORE_UNAVAILABLE', 'Sessions are temporarily unavailable. Please try again in a moment.', { cause: state.storeError });
      throw new AuthRequiredError(state.cookiePresent, returnToFor(ctx, baseUrl, authRoutes));
    }
    const stored = await store.getTokens(state.record.id, now());
    if (!stored) {
      // Destroyed since this request loaded it (logout elsewhere, back-channel logout).
      endSession(ctx);
      throw new AuthRequiredError(true, returnToFor(ctx, baseUrl, authRoutes));
    }
    let tokens = tokensOf(stored);
    if (refresher.needsRefresh(tokens)) {
      try {
        tokens = await refresher.fresh(state.record.id, tokens);
      } catch (err) {
        if (!(err instanceof SessionEndedError)) throw err;
        endSession(ctx);
        throw new AuthRequiredError(true, returnToFor(ctx, baseUrl, authRoutes));
      }
    }
    if (!tokens.accessToken) throw new AppError(403, 'ERR_NO_ACCESS_TOKEN', 'This sign-in does not allow calling other services. Log out and in again.');
    // The key never changes during a session: refresh keeps it in the record.
    return { accessToken: tokens.accessToken, dpopKey: storedDPoPKey(stored) };
  };
}
