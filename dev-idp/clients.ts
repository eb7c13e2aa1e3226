import type { ClientMetadata } from 'oidc-provider';
import type { Provider } from './oidc-provider-module.ts';

/** How a client authenticates at the token and revocation endpoints (OIDC Core 9, RFC 6749 2.3). */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt' | 'none';

/** Response types a client may use; both are answered with response_mode=form_post if asked. */
export type DevResponseType = 'code' | 'id_token';

/** Grant types a client may use at the token endpoint ('implicit' goes with response type id_token). */
export type DevGrantType = 'authorization_code' | 'refresh_token' | 'implicit';

/**
 * An app (relying party) registered with the dev-idp. The short form `{ clientId, clientSecret,
 * baseUrl }` registers a koa-oidc-bff app: callback `<baseUrl>/callback`, post-logout
 * `<baseUrl>/` (and `<baseUrl>`), back-channel logout `<baseUrl>/backchannel-logout`.
 * Any of those can be replaced with the explicit lists below; `baseUrl` or `redirectUris` is
 * required. URLs must be absolute http(s) URLs without a fragment, matched exactly by the IdP
 * (OAuth 2.0 3.1.2, RFC 9700 2.1); http://localhost is accepted, as this is a development IdP.
 */
export interface DevClient {
  /** The `client_id`. Unique among the clients. */
  clientId: string;
  /** The `client_secret`; required unless tokenEndpointAuthMethod is 'none' (then it must be absent). */
  clientSecret?: string | undefined;
  /** Public base URL of the app, e.g. http://localhost:3000 (a trailing slash is ignored); the source of the defaults below. */
  baseUrl?: string | undefined;
  /** Allowed `redirect_uri` values. Default: [`<baseUrl>/callback`]. */
  redirectUris?: string[] | undefined;
  /** Allowed `post_logout_redirect_uri` values (RP-Initiated Logout 1.0 3). Default: [`<baseUrl>/`, `<baseUrl>`], or none without baseUrl. */
  postLogoutRedirectUris?: string[] | undefined;
  /**
   * Where Logout Tokens are POSTed (Back-Channel Logout 1.0 2.2), with `sid` required;
   * null = no back-channel logout. Default: `<baseUrl>/backchannel-logout`, or none without baseUrl.
   */
  backchannelLogoutUri?: string | null | undefined;
  /** Client authentication at the token endpoint. Default 'client_secret_basic'. 'private_key_jwt' (RFC 7523) needs `jwks` and no clientSecret. */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  /** The client's public keys (a JWKS `{ keys: [...] }`), for 'private_key_jwt': its client assertions must be signed by one of them. */
  jwks?: { keys: Record<string, unknown>[] } | undefined;
  /** Access tokens of this client must be DPoP-bound (RFC 9449 5.2 `dpop_bound_access_tokens`). Default false. */
  dpopBoundAccessTokens?: boolean | undefined;
  /** Allowed response types. Default ['code', 'id_token']. */
  responseTypes?: DevResponseType[] | undefined;
  /**
   * Allowed grant types. Default: derived from responseTypes ('code' gives authorization_code
   * and refresh_token, 'id_token' gives implicit).
   */
  grantTypes?: DevGrantType[] | undefined;
  /** Shown on the login and logout pages. Default: clientId. */
  clientName?: string | undefined;
}

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'];
/** Methods that authenticate without a shared secret. */
const SECRETLESS: readonly TokenEndpointAuthMethod[] = ['private_key_jwt', 'none'];
const RESPONSE_TYPES: readonly DevResponseType[] = ['code', 'id_token'];
const GRANT_TYPES: readonly DevGrantType[] = ['authorization_code', 'refresh_token', 'implicit'];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Why `value` is not an absolute http(s) URL without a fragment, or undefined if it is one. */
function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a URL string';
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return `must be an absolute http(s) URL, got "${value}"`;
  if (value.includes('#')) return `must not have a fragment (OAuth 2.0 3.1.2), got "${value}"`;
  return undefined;
}

function checkUrlList(value: unknown, at: string, problems: string[], nonEmpty: boolean): void {
  if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
    problems.push(`${at} must be ${nonEmpty ? 'a non-empty' : 'an'} array of URLs`);
    return;
  }
  value.forEach((item, i) => {
    const problem = urlProblem(item);
    if (problem) problems.push(`${at}[${i}] ${problem}`);
  });
}

function checkEnumList(value: unknown, allowed: readonly string[], at: string, problems: string[]): void {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => allowed.includes(v as string))) {
    problems.push(`${at} must be a non-empty array of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
}

/**
 * Checks client registrations before the provider sees them, so that a mistake stops the
 * dev-idp at startup with a message naming the option, not at the first login.
 * Input: any value (parsed JSON or options) and `source` for the message ("options.clients",
 * a config file path). Output: the clients, typed. Throws one Error listing every problem.
 */
export function validateClients(value: unknown, source: string): DevClient[] {
  const problems: string[] = [];
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('must be a non-empty array of clients ({"clientId", "clientSecret", "baseUrl" or "redirectUris", ...})');
  } else {
    const ids = new Set<string>();
    value.forEach((client: unknown, i) => {
      const at = `[${i}]`;
      if (!isObject(client)) return void problems.push(`${at} must be an object`);
      const { clientId, clientSecret, baseUrl, redirectUris, postLogoutRedirectUris, backchannelLogoutUri } = client;
      if (typeof clientId !== 'string' || clientId === '') problems.push(`${at}.clientId must be a non-empty string`);
      else if (ids.has(clientId)) problems.push(`${at}.clientId "${clientId}" is a duplicate`);
      else ids.add(clientId);
      const method = client.tokenEndpointAuthMethod ?? 'client_secret_basic';
      if (!AUTH_METHODS.includes(method as TokenEndpointAuthMethod)) {
        problems.push(`${at}.tokenEndpointAuthMethod must be one of ${AUTH_METHODS.map((a) => `'${a}'`).join(', ')}`);
      } else if (SECRETLESS.includes(method as TokenEndpointAuthMethod) && clientSecret !== undefined) {
        problems.push(`${at}.clientSecret must be absent with tokenEndpointAuthMethod '${String(method)}'`);
      } else if (method === 'private_key_jwt' && (!isObject(client.jwks) || !Array.isArray(client.jwks.keys) || client.jwks.keys.length === 0)) {
        problems.push(`${at}.jwks must be a JWKS with at least one public key with tokenEndpointAuthMethod 'private_key_jwt'`);
      } else if (!SECRETLESS.includes(method as TokenEndpointAuthMethod) && (typeof clientSecret !== 'string' || clientSecret === '')) {
        problems.push(`${at}.clientSecret must be a non-empty string (or set tokenEndpointAuthMethod 'none')`);
      }
      if (baseUrl === undefined && redirectUris === undefined) problems.push(`${at} needs baseUrl or redirectUris`);
      if (baseUrl !== undefined) {
        const problem = urlProblem(baseUrl) ?? (String(baseUrl).includes('?') ? 'must not have a query' : undefined);
        if (problem) problems.push(`${at}.baseUrl ${problem}`);
      }
      if (redirectUris !== undefined) checkUrlList(redirectUris, `${at}.redirectUris`, problems, true);
      if (postLogoutRedirectUris !== undefined) checkUrlList(postLogoutRedirectUris, `${at}.postLogoutRedirectUris`, problems, false);
      if (backchannelLogoutUri !== undefined && backchannelLogoutUri !== null) {
        const problem = urlProblem(backchannelLogoutUri);
        if (problem) problems.push(`${at}.backchannelLogoutUri ${problem} (or null for none)`);
      }
      if (client.responseTypes !== undefined) checkEnumList(client.responseTypes, RESPONSE_TYPES, `${at}.responseTypes`, problems);
      if (client.grantTypes !== undefined) checkEnumList(client.grantTypes, GRANT_TYPES, `${at}.grantTypes`, problems);
      if (client.clientName !== undefined && (typeof client.clientName !== 'string' || client.clientName === '')) {
        problems.push(`${at}.clientName must be a non-empty string`);
      }
    });
  }
  if (problems.length > 0) {
    throw new Error(`dev-idp: invalid clients in ${source}:\n  - ${problems.join('\n  - ')}`);
  }
  return value as DevClient[];
}

/**
 * Static client registration (OIDC Registration 2, RP-Initiated Logout 1.0 3, Back-Channel
 * Logout 1.0 2.2) of a validated DevClient, with the defaults documented on DevClient:
 * code+PKCE and id_token (both via form_post), refresh tokens, client_secret_basic, RS256 ID
 * tokens, RP-initiated and back-channel logout with `sid`.
 */
export function clientMetadata(client: DevClient): ClientMetadata {
  const base = client.baseUrl?.replace(/\/+$/, '');
  const responseTypes = client.responseTypes ?? ['code', 'id_token'];
  const grantTypes = client.grantTypes ?? [
    ...(responseTypes.includes('code') ? ['authorization_code', 'refresh_token'] as const : []),
    ...(responseTypes.includes('id_token') ? ['implicit'] as const : []),
  ];
  const backchannel = client.backchannelLogoutUri === undefined
    ? base && `${base}/backchannel-logout`
    : client.backchannelLogoutUri ?? undefined;
  const method = client.tokenEndpointAuthMethod ?? 'client_secret_basic';
  return {
    client_id: client.clientId,
    ...(SECRETLESS.includes(method) ? {} : { client_secret: client.clientSecret }),
    ...(method === 'private_key_jwt' ? { jwks: client.jwks as ClientMetadata['jwks'] } : {}),
    ...(client.dpopBoundAccessTokens ? { dpop_bound_access_tokens: true } : {}),
    client_name: client.clientName ?? client.clientId,
    application_type: 'web',
    redirect_uris: client.redirectUris ?? [`${base}/callback`],
    // Both spellings of the home page, so the app may send either as post_logout_redirect_uri.
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? (base ? [`${base}/`, base] : []),
    response_types: responseTypes,
    grant_types: grantTypes,
    token_endpoint_auth_method: method,
    id_token_signed_response_alg: 'RS256',
    ...(backchannel ? { backchannel_logout_uri: backchannel, backchannel_logout_session_required: true } : {}),
  };
}

/** The two client-schema checks that forbid http and localhost redirect URIs for implicit clients. */
const DEV_ONLY_WAIVED_CHECKS = new Set(['implicit-force-https', 'implicit-forbid-localhost']);

/**
 * DEVELOPMENT ONLY. Lets this provider register an implicit (response_type=id_token) web client
 * whose redirect URIs are http://localhost, which OIDC Core 3.2.2.1 forbids. Without it the
 * app's id_token mode cannot be tried locally. This is oidc-provider's documented recipe
 * ("Allowing HTTP and/or localhost for implicit response type web clients"): the schema reports
 * each failed check through `invalidate(message, code)`, and exactly these two codes are ignored.
 * The patch touches only this provider's Client.Schema class (each Provider builds its own).
 */
export function allowImplicitOnLocalhost(provider: InstanceType<typeof Provider>): void {
  // Client.Schema is not in the public types; it is the class the recipe patches.
  const schema = (provider.Client as unknown as { Schema: { prototype: SchemaPrototype } }).Schema;
  const invalidate = schema.prototype.invalidate;
  schema.prototype.invalidate = function invalidateExceptDevWaivers(message, code) {
    if (code !== undefined && DEV_ONLY_WAIVED_CHECKS.has(code)) return;
    invalidate.call(this, message, code);
  };
}

interface SchemaPrototype {
  invalidate(this: unknown, message: string, code?: string): void;
}
