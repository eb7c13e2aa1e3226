import type { ClientMetadata } from 'oidc-provider';
import type { Provider } from './oidc-provider-module.ts';

/** An app registered with the dev-idp (the BFF): its credentials and public base URL. */
export interface DevClient {
  clientId: string;
  clientSecret: string;
  /** e.g. http://localhost:3000; the callback is baseUrl + '/callback'. */
  baseUrl: string;
}

/**
 * Static client registration for one app (OIDC Registration 2, Back-Channel Logout 1.0 2.2).
 * Input: the app's id, secret and base URL (a trailing slash is ignored).
 * Output: metadata allowing code+PKCE and id_token (both via form_post), refresh tokens,
 * client_secret_basic, RS256 ID tokens, RP-initiated and back-channel logout with `sid`.
 */
export function clientMetadata(client: DevClient): ClientMetadata {
  const base = client.baseUrl.replace(/\/+$/, '');
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_name: client.clientId,
    application_type: 'web',
    redirect_uris: [`${base}/callback`],
    // Both spellings of the home page, so the app may send either as post_logout_redirect_uri.
    post_logout_redirect_uris: [`${base}/`, base],
    response_types: ['code', 'id_token'],
    grant_types: ['authorization_code', 'refresh_token', 'implicit'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    backchannel_logout_uri: `${base}/backchannel-logout`,
    backchannel_logout_session_required: true,
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
