/**
 * The one place where openid-client errors become ours: a stable reason code for the log, a
 * plain-words message for the user, 502 when the IdP's token endpoint itself failed, else 400.
 */
import * as client from 'openid-client';
import { LoginError } from '../errors.ts';

const TRY_AGAIN = 'Please try again.';

/**
 * Maps an error thrown while validating a callback (OIDC Core 3.1.3.7, 3.2.2.11; RFC 9207) to a
 * {@link LoginError}. `retryPath` is the "Try again" target.
 */
export function loginErrorFrom(err: unknown, retryPath: string): LoginError {
  if (err instanceof LoginError) return err;
  const e = err as { code?: string; error?: string; status?: number; cause?: unknown; message?: string; name?: string };
  const detail = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  if (err instanceof client.AuthorizationResponseError) {
    if (err.error === 'access_denied') return new LoginError(400, 'ERR_LOGIN_CANCELLED', 'Login cancelled.', retryPath, { detail });
    return new LoginError(400, 'ERR_LOGIN_IDP_ERROR', `The identity provider refused the login. ${TRY_AGAIN}`, retryPath, { detail: `${err.error}: ${err.error_description ?? ''}` });
  }
  if (err instanceof client.ResponseBodyError) {
    // An OAuth error body from the token endpoint (RFC 6749 5.2).
    return new LoginError(502, 'ERR_LOGIN_TOKEN_ENDPOINT', `The identity provider could not complete the login. ${TRY_AGAIN}`, retryPath, { detail: `${err.error} (HTTP ${err.status})` });
  }
  const code = e.code ?? '';
  const cause = (e.cause ?? {}) as { claim?: string; body?: unknown; status?: number };
  // Codes of oauth4webapi, the engine under openid-client.
  switch (code) {
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      return new LoginError(502, 'ERR_LOGIN_TOKEN_ENDPOINT', `The identity provider could not complete the login. ${TRY_AGAIN}`, retryPath, { detail });
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return new LoginError(400, 'ERR_LOGIN_ID_TOKEN_TIME', `The login response was expired or not yet valid (check the clocks). ${TRY_AGAIN}`, retryPath, { detail });
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      if (cause.claim === 'nonce') return new LoginError(400, 'ERR_LOGIN_NONCE', `The login response did not match this login attempt. ${TRY_AGAIN}`, retryPath, { detail });
      return new LoginError(400, 'ERR_LOGIN_ID_TOKEN_CLAIMS', `The login response was not issued for this application. ${TRY_AGAIN}`, retryPath, { detail: `${detail} (claim ${cause.claim ?? '?'})` });
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      return new LoginError(400, 'ERR_LOGIN_ISSUER_MISMATCH', `The login response came from an unexpected identity provider. ${TRY_AGAIN}`, retryPath, { detail });
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new LoginError(400, 'ERR_LOGIN_ID_TOKEN_SIGNATURE', `The login response could not be verified. ${TRY_AGAIN}`, retryPath, { detail });
    case 'OAUTH_UNSUPPORTED_OPERATION':
      return new LoginError(400, 'ERR_LOGIN_ID_TOKEN_ALG', `The login response used an unsupported signature. ${TRY_AGAIN}`, retryPath, { detail });
    case 'OAUTH_INVALID_RESPONSE':
    case 'OAUTH_PARSE_ERROR':
    case 'OAUTH_INVALID_REQUEST':
      return new LoginError(400, 'ERR_LOGIN_INVALID_RESPONSE', `The login response was not valid. ${TRY_AGAIN}`, retryPath, { detail });
    default:
      break;
  }
  if (e.name === 'JWSSignatureVerificationFailed' || /signature/i.test(e.message ?? '')) {
    return new LoginError(400, 'ERR_LOGIN_ID_TOKEN_SIGNATURE', `The login response could not be verified. ${TRY_AGAIN}`, retryPath, { detail });
  }
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.name === 'TypeError') {
    // fetch failures: the IdP is unreachable or too slow.
    return new LoginError(502, 'ERR_LOGIN_IDP_UNREACHABLE', `The identity provider could not be reached. ${TRY_AGAIN}`, retryPath, { detail });
  }
  return new LoginError(400, 'ERR_LOGIN_INVALID_RESPONSE', `The login response was not valid. ${TRY_AGAIN}`, retryPath, { detail });
}

/**
 * Classifies a failed refresh_token grant (RFC 6749 6). `grant-gone`: the IdP refused the refresh
 * token with `invalid_grant` (revoked, expired, reused, or forgotten by the IdP): the login is
 * over. `unavailable`: anything else (unreachable, timeout, 5xx, malformed answer): the login
 * may still be good, so it is kept. `detail` is for the log only.
 */
export function refreshFailureFrom(err: unknown): { kind: 'grant-gone' | 'unavailable'; detail: string } {
  if (err instanceof client.ResponseBodyError) {
    return { kind: err.error === 'invalid_grant' ? 'grant-gone' : 'unavailable', detail: `${err.error} (HTTP ${err.status})` };
  }
  const e = err as { name?: string; message?: string; code?: string };
  return { kind: 'unavailable', detail: `${e.name ?? 'Error'}${e.code ? ` ${e.code}` : ''}: ${e.message ?? String(err)}` };
}
