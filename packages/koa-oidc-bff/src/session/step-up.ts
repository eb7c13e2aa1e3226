/**
 * Step-up authentication (OAuth 2.0 Step Up Authentication Challenge Protocol, RFC 9470): a
 * route asks for an authentication context (`acr`) and/or a recent authentication (`maxAge`);
 * when the session's login does not satisfy it, the user is sent to log in again with
 * `acr_values` / `max_age` (OIDC Core 3.1.2.1). The same happens when an upstream API answers
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication"` through `callApi`.
 */
import type Koa from 'koa';
import { AppError } from '../errors.ts';
import { returnToFor } from './require-user.ts';
import { sessionState } from './session-middleware.ts';
import type { SessionStore } from './store.ts';

/** What a route needs of the login. */
export interface StepUpRequirement {
  /** Acceptable `acr` values (OIDC Core 2), most preferred first; sent as `acr_values`. */
  acr?: string | readonly string[];
  /** Seconds: the login (`auth_time`) must be at most this old; sent as `max_age`. */
  maxAge?: number;
}

/**
 * The login does not satisfy a route or an upstream API: answered with a new login asking for
 * `acrValues`/`maxAge` (htmx: 401 + `HX-Redirect`; navigation: 302; JSON: 401
 * `{"error":"insufficient_user_authentication"}`).
 */
export class StepUpRequiredError extends AppError {
  constructor(readonly returnTo: string, readonly acrValues: string | undefined, readonly maxAge: number | undefined) {
    super(401, 'ERR_STEP_UP_REQUIRED', 'This action needs you to sign in again.');
  }
}

/** `acr_values` (space-separated tokens, RFC 6749 A.4 characters, at most 10 of 200 characters each). */
export const ACR_VALUES_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]{1,200}( [\x21\x23-\x5b\x5d-\x7e]{1,200}){0,9}$/;

/**
 * Checks a requirement once, when a route is declared.
 * @throws {TypeError} for an empty or malformed acr list, or a maxAge that is not a whole number of seconds >= 0.
 */
export function checkRequirement(requirement: StepUpRequirement): { acrValues: string | undefined; maxAge: number | undefined } {
  const list = requirement.acr === undefined ? undefined : typeof requirement.acr === 'string' ? [requirement.acr] : [...requirement.acr];
  const acrValues = list?.join(' ');
  if (acrValues !== undefined && !ACR_VALUES_PATTERN.test(acrValues)) throw new TypeError('requireUser: acr must be one or more acr values (no spaces or quotes)');
  const { maxAge } = requirement;
  if (maxAge !== undefined && (!Number.isInteger(maxAge) || maxAge < 0)) throw new TypeError('requireUser: maxAge must be a whole number of seconds >= 0');
  return { acrValues, maxAge };
}

/**
 * Middleware to run after `requireUser()`: lets the request through when the login's ID token
 * `acr` is one of `acrValues` and its `auth_time` (else the login time) is within `maxAge`
 * seconds of now, else throws {@link StepUpRequiredError}. The claims are in the token record,
 * read here only: the hot record, and so every other route, stays as it was.
 */
export function stepUpGuard(requirement: { acrValues: string | undefined; maxAge: number | undefined }, store: SessionStore, baseUrl: URL, now: () => number, authRoutes?: ReadonlySet<string>): Koa.Middleware {
  const accepted = requirement.acrValues?.split(' ');
  return async function requireStepUp(ctx, next) {
    const record = sessionState(ctx).record;
    const claims = record ? (await store.getTokens(record.id, now()))?.claims as { acr?: unknown; auth_time?: unknown } | undefined : undefined;
    const acr = typeof claims?.acr === 'string' ? claims.acr : undefined;
    const authTime = typeof claims?.auth_time === 'number' ? claims.auth_time : record ? Math.floor(record.createdAt / 1000) : undefined;
    const acrOk = accepted === undefined || (acr !== undefined && accepted.includes(acr));
    const fresh = requirement.maxAge === undefined || (authTime !== undefined && Math.floor(now() / 1000) - authTime <= requirement.maxAge);
    if (!acrOk || !fresh) throw new StepUpRequiredError(returnToFor(ctx, baseUrl, authRoutes), requirement.acrValues, requirement.maxAge);
    await next();
  };
}

/**
 * Reads an RFC 9470 3 challenge from an upstream's `WWW-Authenticate` header: the
 * `insufficient_user_authentication` error with its `acr_values` and `max_age`, or undefined for
 * any other header. Parses auth-params (RFC 9110 11.2: token or quoted-string values) of every
 * challenge; a malformed header is ignored.
 */
export function insufficientUserAuthentication(header: string | null): { acrValues: string | undefined; maxAge: number | undefined } | undefined {
  if (!header) return undefined;
  const params = new Map<string, string>();
  // name=token or name="quoted \"string\"", separated by commas and spaces; scheme names skipped.
  for (const m of header.matchAll(/([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+))/g)) {
    const name = m[1]!.toLowerCase();
    if (!params.has(name)) params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  }
  if (params.get('error') !== 'insufficient_user_authentication') return undefined;
  const acr = params.get('acr_values');
  const maxAge = params.has('max_age') ? Number(params.get('max_age')) : undefined;
  return {
    acrValues: acr !== undefined && ACR_VALUES_PATTERN.test(acr) ? acr : undefined,
    maxAge: maxAge !== undefined && Number.isInteger(maxAge) && maxAge >= 0 ? maxAge : undefined,
  };
}

/** The login URL asking for the step-up: `<login>?returnTo=...&acr_values=...&max_age=...`. */
export function stepUpLoginUrl(loginPath: string, err: StepUpRequiredError): string {
  const query = new URLSearchParams({ returnTo: err.returnTo });
  if (err.acrValues !== undefined) query.set('acr_values', err.acrValues);
  if (err.maxAge !== undefined) query.set('max_age', String(err.maxAge));
  return `${loginPath}?${query}`;
}
