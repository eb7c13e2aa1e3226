import type { Configuration } from 'oidc-provider';
import { errors } from './oidc-provider-module.ts';

/** Scopes of the dev API. The OIDC ones are listed so they also appear in its JWT access tokens. */
export const API_SCOPES = 'openid profile email offline_access api:read';

type ResourceIndicatorsFeature = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

/**
 * `features.resourceIndicators` (RFC 8707) for the dev API.
 * Input: the API audience, e.g. http://localhost:4100, or undefined when no API runs.
 * Output: with an audience, every authorization defaults to that resource (so the app need not
 * send `resource`), access tokens for it are RFC 9068 JWTs with `aud` = the audience, and refresh
 * keeps the granted resource (`useGrantedResource`). Without one the feature is off and access
 * tokens are opaque (userinfo only). Any other resource indicator is rejected with invalid_target.
 */
export function resourceIndicators(apiAudience: string | undefined): ResourceIndicatorsFeature {
  if (apiAudience === undefined) return { enabled: false };
  const audienceHref = new URL(apiAudience).href;
  return {
    enabled: true,
    defaultResource: async (_ctx, _client, oneOf) => {
      if (oneOf === undefined) return apiAudience;
      return oneOf.includes(apiAudience) ? apiAudience : oneOf;
    },
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx, indicator) => {
      if (URL.parse(indicator)?.href !== audienceHref) throw new errors.InvalidTarget();
      return { scope: API_SCOPES, audience: apiAudience, accessTokenFormat: 'jwt' };
    },
  };
}
