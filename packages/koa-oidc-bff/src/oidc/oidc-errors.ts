/**
 * The one place where login failures get their stable reason code, status and plain-words
 * message ({@link LOGIN_FAILURES}), and where openid-client errors are mapped to them
 * ({@link loginErrorFrom}). 400 for a bad or refused login response, 502 when the IdP itself
 * failed (token endpoint error or outage). The README's FAQ lists the same codes.
 */
import * as client from 'openid-client';
import { LoginError, type AppErrorOptions } from '../errors.ts';

const AGAIN = ' Please try again.';

/** Every reason a login can fail, with its HTTP status and the message shown to the user. */
export const LOGIN_FAILURES = {
  ERR_LOGIN_BAD_REQUEST: [400, `The login response could not be read.${AGAIN}`],
  ERR_LOGIN_STATE_MISSING: [400, `The login response was incomplete.${AGAIN}`],
  ERR_LOGIN_STATE_UNKNOWN: [400, `This login attempt is unknown to this browser or was already used.${AGAIN}`],
  ERR_LOGIN_STATE_EXPIRED: [400, `This login attempt took longer than 10 minutes.${AGAIN}`],
  ERR_LOGIN_STATE_USED: [400, `This login attempt was already used.${AGAIN}`],
  ERR_LOGIN_CANCELLED: [400, 'Login cancelled.'],
  ERR_LOGIN_IDP_ERROR: [400, `The identity provider refused the login.${AGAIN}`],
  ERR_LOGIN_ISSUER_MISMATCH: [400, `The login response came from an unexpected identity provider.${AGAIN}`],
  ERR_LOGIN_NONCE: [400, `The login response did not belong to this login attempt.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_SIGNATURE: [400, `The login response could not be verified: its signature is wrong.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_KEY: [400, `The login response was signed with a key the identity provider does not publish.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_ALG: [400, `The login response was not signed, or signed with an unacceptable algorithm.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_ISSUER: [400, `The login response was issued by an unexpected identity provider.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_AUDIENCE: [400, `The login response was issued for another application.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_AZP: [400, `The login response was issued for several applications without naming this one as its recipient.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_EXPIRED: [400, `The login response has expired. Check that this computer's clock is right.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_IAT: [400, `The login response claims to be issued in the future. Check that this computer's clock is right.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_NOT_YET_VALID: [400, `The login response is not valid yet. Check that this computer's clock is right.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_SUB: [400, `The login response did not say who you are.${AGAIN}`],
  ERR_LOGIN_ID_TOKEN_CLAIMS: [400, `The login response held unexpected values.${AGAIN}`],
  ERR_LOGIN_INVALID_RESPONSE: [400, `The login response was not valid.${AGAIN}`],
  ERR_LOGIN_ACR_UNMET: [400, `The identity provider did not confirm the stronger sign-in this action needs.${AGAIN}`],
  ERR_LOGIN_TOKEN_ENDPOINT: [502, `The identity provider could not complete the login.${AGAIN}`],
  ERR_LOGIN_IDP_UNREACHABLE: [502, `The identity provider could not be reached.${AGAIN}`],
  ERR_LOGIN_IDP_KEYS_UNAVAILABLE: [503, 'The identity provider\'s signing keys could not be loaded, so the login could not be checked. Please try again in a moment.'],
  ERR_LOGIN_RATE_LIMITED: [429, 'Too many logins were started. Please wait a moment, then try again.'],
} as const satisfies Record<string, readonly [400 | 429 | 502 | 503, string]>;

export type LoginFailureCode = keyof typeof LOGIN_FAILURES;

/** The {@link LoginError} for `code`; `retryPath` is where "Try again" leads, `detail` goes to the log only. */
export function loginFailure(code: LoginFailureCode, retryPath: string, options: Pick<AppErrorOptions, 'detail' | 'headers'> & { message?: string } = {}): LoginError {
  const [status, message] = LOGIN_FAILURES[code];
  return new LoginError(status, code, options.message ?? message, retryPath, options);
}

/** ID token claims by the reason code of a failed check on them. */
const CLAIM_CODES: Record<string, LoginFailureCode> = {
  nonce: 'ERR_LOGIN_NONCE',
  sub: 'ERR_LOGIN_ID_TOKEN_SUB',
  iss: 'ERR_LOGIN_ID_TOKEN_ISSUER',
  aud: 'ERR_LOGIN_ID_TOKEN_AUDIENCE',
  azp: 'ERR_LOGIN_ID_TOKEN_AZP',
  exp: 'ERR_LOGIN_ID_TOKEN_EXPIRED',
  iat: 'ERR_LOGIN_ID_TOKEN_IAT',
  nbf: 'ERR_LOGIN_ID_TOKEN_NOT_YET_VALID',
};

/**
 * Maps an error thrown while validating a callback (OIDC Core 3.1.3.7, 3.2.2.11; RFC 9207) to a
 * {@link LoginError}. Based on what openid-client 6 / oauth4webapi 3 throw, checked one by one by
 * test/integration/login-failures.test.ts against a misbehaving IdP.
 * @param retryPath the "Try again" target.
 * @param clientId ours: an `aud` list that holds it failed for want of a matching `azp`.
 */
export function loginErrorFrom(err: unknown, retryPath: string, clientId: string): LoginError {
  if (err instanceof LoginError) return err;
  const fail = (code: LoginFailureCode, detail = describe(err)) => loginFailure(code, retryPath, { detail });
  if (err instanceof client.AuthorizationResponseError) {
    // An `error` response from the authorization endpoint (RFC 6749 4.1.2.1); its text comes from the IdP.
    const detail = `${err.error}: ${String(err.error_description ?? '').slice(0, 200)}`;
    return fail(err.error === 'access_denied' ? 'ERR_LOGIN_CANCELLED' : 'ERR_LOGIN_IDP_ERROR', detail);
  }
  // An OAuth error body from the token endpoint (RFC 6749 5.2).
  if (err instanceof client.ResponseBodyError) return fail('ERR_LOGIN_TOKEN_ENDPOINT', `${err.error} (HTTP ${err.status})`);

  const outer = err as { code?: unknown; name?: unknown; cause?: unknown };
  // openid-client wraps oauth4webapi's error in a ClientError with a generic message; the specific
  // message and its facts (`claim`, `claims`, `parameters`, `signature`) are on the wrapped error.
  const inner = outer.cause instanceof Error ? outer.cause : (err as Error);
  const facts = (inner?.cause ?? {}) as { claim?: unknown; claims?: { aud?: unknown }; parameters?: unknown; signature?: unknown };
  const message = String(inner?.message ?? '');
  const named = /"(\w+)"/.exec(message)?.[1];
  switch (outer.code) {
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM': // 5xx or other unexpected status
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      return fail('ERR_LOGIN_TOKEN_ENDPOINT');
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return fail(CLAIM_CODES[String(facts.claim)] ?? 'ERR_LOGIN_ID_TOKEN_CLAIMS');
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED': {
      const aud = facts.claims?.aud;
      // Several audiences, ours among them, and no `azp` (OIDC Core 3.1.3.7 steps 3-5).
      if (facts.claim === 'aud' && Array.isArray(aud) && aud.includes(clientId)) return fail('ERR_LOGIN_ID_TOKEN_AZP');
      return fail(CLAIM_CODES[String(facts.claim)] ?? 'ERR_LOGIN_ID_TOKEN_CLAIMS');
    }
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      return fail('ERR_LOGIN_ISSUER_MISMATCH');
    case 'OAUTH_KEY_SELECTION_FAILED':
      return fail('ERR_LOGIN_ID_TOKEN_KEY');
    case 'OAUTH_UNSUPPORTED_OPERATION': // alg "none" or an algorithm the runtime cannot verify
      return fail('ERR_LOGIN_ID_TOKEN_ALG');
    case 'OAUTH_TIMEOUT': // IDP_TIMEOUT elapsed (token endpoint, JWKS): the IdP is too slow, not the response wrong
    case 'OAUTH_ABORT':
      return fail('ERR_LOGIN_IDP_UNREACHABLE');
    case 'OAUTH_INVALID_RESPONSE':
      if (facts.signature !== undefined) return fail('ERR_LOGIN_ID_TOKEN_SIGNATURE');
      // RFC 9207: the `iss` response parameter is missing or names another issuer.
      if (facts.parameters !== undefined && named === 'iss') return fail('ERR_LOGIN_ISSUER_MISMATCH');
      if (named === 'alg') return fail('ERR_LOGIN_ID_TOKEN_ALG');
      // A required claim missing or of the wrong type ("JWT \"sub\" (subject) claim missing").
      if (facts.claims !== undefined && named && CLAIM_CODES[named]) return fail(CLAIM_CODES[named]);
      return fail('ERR_LOGIN_INVALID_RESPONSE');
    default:
      break;
  }
  if (outer.name === 'TimeoutError' || outer.name === 'AbortError' || (err instanceof TypeError && /fetch failed/i.test(err.message))) {
    return fail('ERR_LOGIN_IDP_UNREACHABLE');
  }
  return fail('ERR_LOGIN_INVALID_RESPONSE');
}

/** A one-line description for the log: library code and specific message; never claims, tokens or bodies. */
function describe(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  const inner = e.cause instanceof Error && e.cause.message !== e.message ? e.cause.message : '';
  return `${String(e.code ?? e.name ?? 'Error')}: ${String(e.message ?? err)}${inner ? ` (${inner})` : ''}`.slice(0, 300);
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
