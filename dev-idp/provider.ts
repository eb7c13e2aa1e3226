import { randomBytes } from 'node:crypto';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { AccountDirectory } from './accounts.ts';
import { allowImplicitOnLocalhost, clientMetadata, type DevClient } from './clients.ts';
import { loadFirstPartyGrant } from './grants.ts';
import type { PrivateJwk } from './keys.ts';
import { createMemoryAdapter } from './memory-adapter.ts';
import { Provider } from './oidc-provider-module.ts';
import { pageHooks } from './pages.ts';
import { resourceIndicators } from './resource-indicators.ts';
import { ACR_VALUES, stepUpPolicy } from './step-up.ts';
import { registerHomes } from './way-back.ts';

/** Lifetimes in seconds of what the provider issues. */
export interface DevIdpTtl {
  AccessToken?: number; IdToken?: number; RefreshToken?: number; Session?: number; Grant?: number; Interaction?: number;
}

/** Development defaults: short access tokens so the app's refresh path runs often. */
export const DEFAULT_TTL: Required<DevIdpTtl> = {
  AccessToken: 10 * 60,
  IdToken: 60 * 60,
  RefreshToken: 24 * 60 * 60,
  Session: 24 * 60 * 60,
  Grant: 24 * 60 * 60,
  Interaction: 10 * 60,
};

/** OIDC Core 5.4 standard claims per scope; any other account claim is released with `openid`. */
const PROFILE_CLAIMS = ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
  'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'];
const EMAIL_CLAIMS = ['email', 'email_verified'];

export interface ProviderInputs {
  issuer: string;
  accounts: AccountDirectory;
  clients: DevClient[];
  keys: PrivateJwk[];
  ttl: Required<DevIdpTtl>;
  /** Audience (and resource indicator) of the dev API; undefined: no resource server, opaque tokens. */
  apiAudience: string | undefined;
  /** Pushed authorization requests (RFC 9126): off (not advertised), optional, or required (plain requests refused, 5). */
  par: 'off' | 'optional' | 'required';
  /** Demand a server-issued nonce in DPoP proofs at the token endpoint (RFC 9449 8). */
  dpopNonce: boolean;
}

/**
 * Builds the oidc-provider instance (itself a Koa app in v9) for the dev-idp.
 * Inputs: the issuer (with its real port), validated accounts, the apps to register, private
 * signing keys, lifetimes, and the dev API audience. Output: a configured Provider; mount the
 * interaction routes on it with `provider.use(...)` before serving.
 * Protocol choices: code flow with PKCE always required (RFC 9700 2.1.1), id_token flow allowed,
 * form_post (OAuth 2.0 Form Post Response Mode), RFC 9207 `iss` (on by default in v9), refresh
 * tokens for offline_access, always rotated (RFC 9700 4.14.2), revocation (RFC 7009),
 * RP-initiated and back-channel logout, all account claims in the ID token.
 */
export function createProvider(inputs: ProviderInputs): InstanceType<typeof Provider> {
  const { accounts, apiAudience, ttl } = inputs;
  const standard = new Set(['sub', ...PROFILE_CLAIMS, ...EMAIL_CLAIMS]);
  const extraClaims = accounts.claimNames().filter((name) => !standard.has(name));
  const clients = inputs.clients.map(clientMetadata);
  // The only requests the provider makes are Logout Tokens to the registered back-channel URIs.
  const backchannelOrigins = new Set(clients.flatMap((c) => c.backchannel_logout_uri ? [new URL(c.backchannel_logout_uri).origin] : []));

  const configuration: Configuration = {
    adapter: createMemoryAdapter(),
    clients,
    jwks: { keys: inputs.keys },
    // Random per process: the in-memory sessions they sign do not survive a restart either.
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Cookies are shared across ports on localhost; the app's names start with "bff".
      names: { session: 'devidp_session', interaction: 'devidp_interaction', resume: 'devidp_resume' },
    },
    claims: { openid: ['sub', ...extraClaims], profile: PROFILE_CLAIMS, email: EMAIL_CLAIMS },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    // The app shows ID token claims, so release them there even when an access token is issued.
    conformIdTokenClaims: false,
    responseTypes: ['code', 'id_token'],
    pkce: { required: () => true },
    findAccount(_ctx: KoaContextWithOIDC, sub: string) {
      const account = accounts.bySub(sub);
      return account && { accountId: sub, claims: () => ({ ...account.claims, sub }) };
    },
    loadExistingGrant: (ctx: KoaContextWithOIDC) => loadFirstPartyGrant(ctx, accounts.claimNames()),
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    ttl: { ...ttl, AuthorizationCode: 60 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: stepUpPolicy() },
    acrValues: ACR_VALUES,
    // RFC 9068 2.2.1: the authentication context travels in the JWT access token, so the dev API
    // can ask for step-up (RFC 9470) when it is too weak.
    extraTokenClaims: (ctx) => {
      const acr = ctx.oidc.entities.AuthorizationCode?.acr ?? ctx.oidc.entities.RefreshToken?.acr;
      return acr ? { acr } : undefined;
    },
    clientBasedCORS: () => false, // the BFF calls the IdP from its server, never from a browser
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      rpInitiatedLogout: { enabled: true, ...pageHooks.logout },
      resourceIndicators: resourceIndicators(apiAudience),
      userinfo: { enabled: true },
      // RFC 9126: clients may (or, when required, must) push their authorization requests.
      pushedAuthorizationRequests: inputs.par === 'off' ? { enabled: false } : { enabled: true, requirePushedAuthorizationRequests: inputs.par === 'required' },
      // RFC 9449: DPoP-bound tokens for clients that send proofs; nonces on demand.
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => inputs.dpopNonce },
    },
    renderError: pageHooks.renderError,
    // DEVELOPMENT ONLY: oidc-provider refuses outgoing requests to loopback addresses (SSRF
    // protection), which is exactly where the app's back-channel logout endpoint is. Allow
    // requests to the origins of the registered back-channel logout URIs only, without that protection.
    async fetch(url, init) {
      const target = new URL(url instanceof Request ? url.url : url);
      if (!backchannelOrigins.has(target.origin)) throw new Error(`dev-idp: refusing request to unregistered origin ${target.origin}`);
      const { dispatcher: _ssrfGuard, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    },
  };

  const provider = new Provider(inputs.issuer, configuration);
  allowImplicitOnLocalhost(provider);
  registerHomes(provider, clients);
  return provider;
}
