/**
 * The protocol steps of a login, free of HTTP framework code: build the authorization request
 * (OIDC Core 3.1.2.1 / 3.2.2.1, RFC 7636, OAuth 2.0 Form Post Response Mode) and validate the
 * form_post callback (OIDC Core 3.1.3.7 / 3.2.2.11, RFC 9207) with openid-client.
 */
import * as client from 'openid-client';
import { loginFailure } from '../oidc/oidc-errors.ts';
import { authorizationUrl } from '../oidc/par.ts';
import type { LoginTransaction } from './transaction.ts';

export interface AuthorizationRequest {
  /** Where to send the browser. */
  url: URL;
  transaction: LoginTransaction;
}

/**
 * Creates a fresh transaction (random `state`, `nonce`, and for `code` a PKCE S256 `code_verifier`)
 * and the authorization URL taken from discovery.
 * @param options.reauthenticate ask the IdP for the user's credentials whatever session it holds
 *   (`prompt=login`, `max_age=0`, OIDC Core 3.1.2.1): the browser's session was ended by its user
 *   or the IdP, and must not come back through the IdP's single sign-on.
 */
export async function buildAuthorizationRequest(
  config: client.Configuration,
  options: {
    redirectUri: URL; scope: string; responseType: 'code' | 'id_token'; returnTo: string; now: number;
    /** Push the request first (RFC 9126). */
    usePar: boolean;
    /** Step-up (OIDC Core 3.1.2.1, RFC 9470 4): requested `acr_values` (space-separated) and `max_age` (seconds). */
    acrValues?: string | undefined;
    maxAge?: number | undefined;
    /** The browser's session was ended by its user or the IdP: credentials again (`max_age=0` wins over a step-up's). */
    reauthenticate?: boolean | undefined;
  },
): Promise<AuthorizationRequest> {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params: Record<string, string> = {
    redirect_uri: options.redirectUri.href,
    scope: options.scope,
    response_type: options.responseType,
    response_mode: 'form_post',
    state,
    nonce,
  };
  const maxAge = options.reauthenticate ? 0 : options.maxAge;
  if (options.reauthenticate) {
    // offline_access needs prompt=consent (OIDC Core 11); consent without login would not ask for credentials.
    const offline = options.responseType === 'code' && options.scope.split(' ').includes('offline_access');
    params.prompt = offline ? 'login consent' : 'login';
  }
  let code_verifier: string | undefined;
  if (options.responseType === 'code') {
    code_verifier = client.randomPKCECodeVerifier();
    params.code_challenge = await client.calculatePKCECodeChallenge(code_verifier);
    params.code_challenge_method = 'S256';
  }
  if (options.acrValues !== undefined) params.acr_values = options.acrValues;
  if (maxAge !== undefined) params.max_age = String(maxAge);
  return {
    url: await authorizationUrl(config, params, options.usePar),
    transaction: {
      state, nonce, code_verifier, returnTo: options.returnTo, iat: Math.floor(options.now / 1000),
      ...(options.acrValues !== undefined ? { acr_values: options.acrValues } : {}),
      ...(maxAge !== undefined ? { max_age: maxAge } : {}),
    },
  };
}

/** What a successful callback yields. Times are seconds since the epoch. */
export interface LoginResult {
  claims: client.IDToken;
  idToken: string | undefined;
  accessToken: string | undefined;
  refreshToken: string | undefined;
  accessTokenExpiresAt: number | undefined;
}

/**
 * Validates the POSTed authorization response against `transaction` and, for `code`, redeems the
 * code at the token endpoint. The request is rebuilt from the parsed form with the *configured*
 * redirect URI as its URL (never the Host header).
 * @param config from `OidcClient.callbackConfiguration()` (verifies ID token signatures in both flows).
 * @param options.now ms since the epoch; options.clockTolerance seconds.
 * @throws openid-client errors (map them with loginErrorFrom), or a LoginError `ERR_LOGIN_ID_TOKEN_IAT`.
 */
export async function completeLogin(
  config: client.Configuration,
  form: Record<string, string>,
  transaction: LoginTransaction,
  options: { redirectUri: URL; responseType: 'code' | 'id_token'; now: number; clockTolerance: number; dpop?: client.DPoPHandle | undefined },
): Promise<LoginResult> {
  const result = await validateResponse(config, form, transaction, options);
  // oauth4webapi checks only the type of `iat`; a token "issued" beyond the allowed skew in the
  // future means a wrong clock or a forged token (OIDC Core 3.1.3.7 step 10).
  const iat = result.claims.iat;
  const nowSeconds = Math.floor(options.now / 1000);
  if (iat > nowSeconds + options.clockTolerance) {
    throw loginFailure('ERR_LOGIN_ID_TOKEN_IAT', transaction.returnTo, { detail: `iat is ${iat - nowSeconds} s ahead (tolerance ${options.clockTolerance} s)` });
  }
  // Step-up (RFC 9470 4): an IdP may answer with a weaker acr than asked (acr_values is
  // voluntary); refuse here rather than send the user round again to the route that asked.
  if (transaction.acr_values !== undefined && !transaction.acr_values.split(' ').includes(String(result.claims.acr))) {
    throw loginFailure('ERR_LOGIN_ACR_UNMET', transaction.returnTo, { detail: `asked for acr ${transaction.acr_values}, got ${String(result.claims.acr)}` });
  }
  return result;
}

async function validateResponse(
  config: client.Configuration,
  form: Record<string, string>,
  transaction: LoginTransaction,
  options: { redirectUri: URL; responseType: 'code' | 'id_token'; now: number; dpop?: client.DPoPHandle | undefined },
): Promise<LoginResult> {
  const request = new Request(options.redirectUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  if (options.responseType === 'id_token') {
    const claims = await client.implicitAuthentication(config, request, transaction.nonce, { expectedState: transaction.state, ...(transaction.max_age !== undefined ? { maxAge: transaction.max_age } : {}) });
    return { claims, idToken: form.id_token, accessToken: undefined, refreshToken: undefined, accessTokenExpiresAt: undefined };
  }
  const tokens = await client.authorizationCodeGrant(config, request, {
    pkceCodeVerifier: transaction.code_verifier,
    expectedState: transaction.state,
    expectedNonce: transaction.nonce,
    idTokenExpected: true,
    // OIDC Core 3.1.2.1: with max_age the ID token must carry a recent enough auth_time.
    ...(transaction.max_age !== undefined ? { maxAge: transaction.max_age } : {}),
  }, undefined, options.dpop ? { DPoP: options.dpop } : undefined);
  const claims = tokens.claims();
  if (!claims) throw new Error('no ID token claims');
  const expiresIn = tokens.expiresIn();
  return {
    claims,
    idToken: tokens.id_token,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    accessTokenExpiresAt: expiresIn === undefined ? undefined : Math.floor(options.now / 1000) + expiresIn,
  };
}
