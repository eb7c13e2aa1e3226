import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Provider } from './oidc-provider-module.ts';

/** Counters for tests, from provider events. */
export interface DevIdpStats {
  /** Token endpoint requests that reached a grant handler, successful or not. */
  tokenRequests: number;
  /** Of those, grant_type=refresh_token. */
  refreshRequests: number;
  /** Of those, grant_type=authorization_code. */
  authorizationCodeRequests: number;
  /** Logout tokens delivered (the app answered 200 or 204). Failures are logged. */
  backchannelLogouts: number;
}

/**
 * Subscribes to the provider's `grant.*`, `backchannel.*` and `server_error` events.
 * Input: the provider and a logger for failures. Output: live counters (mutated in place).
 */
export function countProviderEvents(provider: InstanceType<typeof Provider>, log: (line: string) => void): DevIdpStats {
  const stats: DevIdpStats = { tokenRequests: 0, refreshRequests: 0, authorizationCodeRequests: 0, backchannelLogouts: 0 };
  const countToken = (ctx: KoaContextWithOIDC) => {
    stats.tokenRequests += 1;
    const grantType = (ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type;
    if (grantType === 'refresh_token') stats.refreshRequests += 1;
    if (grantType === 'authorization_code') stats.authorizationCodeRequests += 1;
  };
  provider.on('grant.success', countToken);
  provider.on('grant.error', countToken);
  provider.on('backchannel.success', () => {
    stats.backchannelLogouts += 1;
  });
  provider.on('backchannel.error', (_ctx, err, client) => {
    log(`dev-idp: back-channel logout to ${client.backchannelLogoutUri ?? client.clientId} failed: ${err.message}`);
  });
  provider.on('server_error', (_ctx, err) => {
    log(`dev-idp: server error: ${err.stack ?? err.message}`);
  });
  return stats;
}
