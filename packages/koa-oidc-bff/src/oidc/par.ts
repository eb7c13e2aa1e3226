/**
 * Pushed authorization requests (RFC 9126): the authorization parameters go to the IdP over the
 * back channel (with client authentication), and the browser's redirect carries only
 * `client_id` and the `request_uri` the IdP returned (RFC 9126 4).
 */
import * as client from 'openid-client';
import { UnavailableError } from '../errors.ts';

/**
 * The URL to send the browser to: pushed when `usePar`, else with every parameter in the query.
 * @throws {UnavailableError} `ERR_IDP_PAR_FAILED` (503) when the IdP refuses or cannot be reached
 *   at its PAR endpoint; the detail (IdP error code) goes to the log only.
 */
export async function authorizationUrl(config: client.Configuration, params: Record<string, string>, usePar: boolean): Promise<URL> {
  if (!usePar) return client.buildAuthorizationUrl(config, params);
  try {
    return await client.buildAuthorizationUrlWithPAR(config, params);
  } catch (err) {
    const detail = err instanceof client.ResponseBodyError ? `PAR endpoint answered ${err.status} ${err.error}` : `PAR request failed: ${(err as { code?: string }).code ?? (err as Error).name}`;
    throw new UnavailableError('ERR_IDP_PAR_FAILED', 'The identity provider could not start the login. Please try again in a moment.', { detail, cause: err });
  }
}
