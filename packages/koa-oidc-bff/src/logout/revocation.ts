/**
 * Token revocation (RFC 7009) at the IdP's `revocation_endpoint`, for logout, for sessions the user
 * ends from another browser, and for a login that obtained tokens but could not store its session.
 * Best effort: a failure is logged (never the token) and never fails the caller's request.
 */
import * as client from 'openid-client';
import type { BffLogger as Logger } from '../log.ts';
import type { OidcClient } from '../oidc/oidc.ts';

/** What to revoke: the refresh token when there is one (RFC 7009 2.1: the IdP may drop the grant's access tokens with it), else the access token. */
export interface RevocableTokens {
  refreshToken?: string | undefined;
  accessToken?: string | undefined;
}

/** Revokes tokens of one session; see {@link revokeTokens}. */
export type Revoke = (tokens: RevocableTokens, context: { event: string; requestId?: string | undefined }) => Promise<boolean>;

/**
 * Builds `revoke(tokens, context)`: posts the refresh token (or, without one, the access token) to
 * the revocation endpoint. Bounded by the IdP timeout of the client configuration.
 * @returns true when the IdP accepted the revocation; false when there was nothing to revoke, the
 *   IdP has no revocation endpoint, discovery has not succeeded, or the call failed (logged as
 *   `<context.event>` with the error name only).
 */
export function revokeTokens(oidc: OidcClient, logger: Logger): Revoke {
  return async function revoke(tokens, context) {
    const [token, hint] = tokens.refreshToken ? [tokens.refreshToken, 'refresh_token'] : [tokens.accessToken, 'access_token'];
    if (!token || !oidc.ready) return false;
    const config = oidc.configuration();
    if (!config.serverMetadata().revocation_endpoint) return false;
    try {
      await client.tokenRevocation(config, token, { token_type_hint: hint! });
      return true;
    } catch (err) {
      logger.warn({ event: context.event, reason: err instanceof Error ? err.name : 'unknown', requestId: context.requestId }, 'token revocation failed');
      return false;
    }
  };
}
