/**
 * `getAccessToken(ctx)`: the current user's access token, refreshed first when it is about to
 * expire (see refresh.ts for the single-flight rules).
 *
 * Fresh tokens are written to the store by the refresher and kept for the rest of the request
 * beside `ctx.session`, never in it: a change to `ctx.session` would make koa-session save the
 * whole session at the end of the request, and a slow request could then write back tokens that
 * another request has already replaced (and a spent refresh token revokes the grant).
 */
import type Koa from 'koa';
import { AppError, AuthRequiredError, UnavailableError } from '../errors.ts';
import { sessionState } from '../session/session-middleware.ts';
import { SessionEndedError, tokensOf, type Refresher, type TokenSet } from './refresh.ts';
import { returnToFor } from '../session/require-user.ts';
import { endSession, userSession } from '../session/user-session.ts';

/** Tokens obtained during this request (newer than those loaded into ctx.session). */
const FRESH = new WeakMap<Koa.Context, TokenSet>();

/** A function that yields a usable access token for the request's user. */
export type GetAccessToken = (ctx: Koa.Context) => Promise<string>;

/**
 * Builds `getAccessToken(ctx)`.
 * @returns a function resolving to the access token (a string for `Authorization: Bearer`).
 * It throws {@link AuthRequiredError} without a live session, or with `sessionEnded` (and the
 * session ended) when the grant is gone; {@link UnavailableError} (503) when the IdP or store
 * cannot be reached, the session being kept; `ERR_NO_ACCESS_TOKEN` (403) when the login has no
 * access token (RESPONSE_TYPE=id_token).
 */
export function accessTokenGetter(options: { refresher: Refresher; baseUrl: URL }): GetAccessToken {
  const { refresher, baseUrl } = options;
  return async function getAccessToken(ctx) {
    const session = userSession(ctx);
    const state = sessionState(ctx);
    if (!session || !state.record) {
      if (state.storeError) throw new UnavailableError('ERR_SESSION_STORE_UNAVAILABLE', 'Sessions are temporarily unavailable. Please try again in a moment.', { cause: state.storeError });
      throw new AuthRequiredError(state.cookiePresent, returnToFor(ctx, baseUrl));
    }
    let tokens = FRESH.get(ctx) ?? tokensOf(session as unknown as Record<string, unknown>);
    if (refresher.needsRefresh(tokens)) {
      try {
        tokens = await refresher.fresh(state.record.id, tokens);
      } catch (err) {
        if (!(err instanceof SessionEndedError)) throw err;
        endSession(ctx);
        throw new AuthRequiredError(true, returnToFor(ctx, baseUrl));
      }
      FRESH.set(ctx, tokens);
    }
    if (!tokens.accessToken) throw new AppError(403, 'ERR_NO_ACCESS_TOKEN', 'This sign-in does not allow calling other services. Log out and in again.');
    return tokens.accessToken;
  };
}
