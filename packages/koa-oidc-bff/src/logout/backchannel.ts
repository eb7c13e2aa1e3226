/**
 * Logout Token validation, OpenID Connect Back-Channel Logout 1.0 (incorporating errata set 1),
 * section 2.6, with jose. Free of HTTP framework code; the route is in backchannel-route.ts.
 */
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { JwksUnavailableError } from '../oidc/jwks-cache.ts';

/** The event that marks a JWT as a Logout Token (Back-Channel Logout 1.0, 2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Seconds a Logout Token stays acceptable after its `iat` (plus the clock tolerance): it is sent at once. */
export const LOGOUT_TOKEN_MAX_AGE = 120;

/** Asymmetric JWS algorithms a Logout Token may use; `none` and HMAC never. */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);

/** What a valid Logout Token says. At least one of `sid` and `sub` is present. */
export interface LogoutTokenClaims {
  iss: string;
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  sub: string | undefined;
  sid: string | undefined;
}

/**
 * A Logout Token that must be refused (answered 400), or, with reason `jwks_unavailable`, one that
 * could not be checked (answered 503). `reason` is a short code for the log.
 */
export class LogoutTokenError extends Error {
  /** @param retryAfter seconds after which checking again may succeed (`jwks_unavailable` only). */
  constructor(readonly reason: string, message: string, readonly retryAfter = 5) {
    super(message);
    this.name = 'LogoutTokenError';
  }
}

export interface VerifyLogoutTokenOptions {
  /** The expected `iss`: the issuer from discovery. */
  issuer: string;
  /** The expected `aud`: this client's id. */
  clientId: string;
  /** The issuer's keys (a jose key function; may throw {@link JwksUnavailableError}). */
  keys: JWTVerifyGetKey;
  /** Accepted signature algorithms; asymmetric ones only are kept. */
  algorithms: readonly string[];
  /** Seconds of clock difference accepted on `iat` and `exp`. */
  clockTolerance: number;
  /** The current time, for tests. */
  now?: Date;
}

/**
 * The asymmetric algorithms of the IdP's `id_token_signing_alg_values_supported` (a Logout Token
 * is signed like an ID token, 2.6 step 2); RS256 when the IdP lists none (OIDC Discovery 3).
 */
export function logoutTokenAlgorithms(supported: readonly string[] | undefined): string[] {
  const usable = (supported ?? ['RS256']).filter((alg) => ASYMMETRIC.has(alg));
  return usable.length > 0 ? usable : ['RS256'];
}

/**
 * Validates a Logout Token (2.6): signed (JWS, never encrypted nor `alg: none`) by a key of the
 * issuer; `iss`, `aud`, `iat` (at most {@link LOGOUT_TOKEN_MAX_AGE} s old, not in the future,
 * both within `clockTolerance`), `exp` when present; `jti`; an `events` object holding the
 * back-channel logout event as an object; no `nonce`; `sid` or `sub`. `typ`, when present,
 * must be `logout+jwt` (2.4); a plain `JWT` is taken as untyped, as several IdPs send it.
 * Replay (`jti` seen before) is the caller's check: it needs the store.
 * @returns the claims the logout acts on.
 * @throws {LogoutTokenError} naming the first check that failed.
 */
export async function verifyLogoutToken(token: string, options: VerifyLogoutTokenOptions): Promise<LogoutTokenClaims> {
  if (token.split('.').length !== 3) throw new LogoutTokenError('malformed', 'logout_token is not a signed JWT');
  let verified;
  try {
    verified = await jwtVerify(token, options.keys, {
      issuer: options.issuer,
      audience: options.clientId,
      algorithms: logoutTokenAlgorithms(options.algorithms),
      clockTolerance: options.clockTolerance,
      maxTokenAge: LOGOUT_TOKEN_MAX_AGE,
      requiredClaims: ['iat', 'jti', 'events'],
      ...(options.now ? { currentDate: options.now } : {}),
    });
  } catch (err) {
    throw fromJose(err);
  }
  const { payload, protectedHeader } = verified;
  const typ = protectedHeader.typ?.toLowerCase().replace(/^application\//, '');
  if (typ !== undefined && typ !== 'logout+jwt' && typ !== 'jwt') throw new LogoutTokenError('typ', `logout_token has typ "${protectedHeader.typ}"`);
  const events = payload.events;
  const event = isObject(events) ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (!isObject(event)) throw new LogoutTokenError('events', 'logout_token lacks the back-channel logout event');
  if ('nonce' in payload) throw new LogoutTokenError('nonce', 'logout_token must not contain a nonce');
  const sub = optionalText(payload.sub, 'sub');
  const sid = optionalText(payload.sid, 'sid');
  if (sub === undefined && sid === undefined) throw new LogoutTokenError('sub_sid', 'logout_token has neither sid nor sub');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw new LogoutTokenError('jti', 'logout_token has no jti');
  return { iss: options.issuer, jti: payload.jti, iat: payload.iat!, sub, sid };
}

function fromJose(err: unknown): LogoutTokenError {
  if (err instanceof JwksUnavailableError) return new LogoutTokenError('jwks_unavailable', err.message, err.retryAfter);
  if (err instanceof joseErrors.JWTClaimValidationFailed) return new LogoutTokenError(err.claim, `logout_token claim "${err.claim}" is invalid (${err.reason})`);
  if (err instanceof joseErrors.JWTExpired) return new LogoutTokenError('expired', `logout_token is too old (${err.claim})`);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new LogoutTokenError('alg', 'logout_token uses an algorithm that is not accepted');
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWSSignatureVerificationFailed) return new LogoutTokenError('signature', 'logout_token signature is not valid');
  if (err instanceof joseErrors.JWKSTimeout || (err instanceof TypeError && /fetch/i.test(err.message))) return new LogoutTokenError('jwks_unavailable', 'the issuer keys could not be fetched');
  if (err instanceof joseErrors.JOSEError) return new LogoutTokenError('malformed', `logout_token is not valid (${err.code})`);
  return new LogoutTokenError('malformed', 'logout_token is not valid');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalText(value: unknown, claim: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new LogoutTokenError(claim, `logout_token claim "${claim}" is not a string`);
  return value;
}
