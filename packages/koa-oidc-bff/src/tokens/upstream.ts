/**
 * Calls an API behind the BFF with the user's access token (RFC 6750 2.1). The upstream request
 * is built from scratch: `Authorization: Bearer <token>` (or `DPoP <token>` with its proof, RFC
 * 9449 7.1) and the headers the route names, nothing
 * from the incoming request (no cookie, no htmx or forwarding headers). Redirects are not
 * followed (they could carry the token elsewhere), the time is bounded, and the answer's size too.
 */
import type { JWK } from 'jose';
import type Koa from 'koa';
import { UpstreamError } from '../errors.ts';
import { returnToFor } from '../session/require-user.ts';
import { insufficientUserAuthentication, StepUpRequiredError } from '../session/step-up.ts';
import type { GetAccessCredentials } from './access-token.ts';
import { dpopProof, rememberNonce, wantsNonce } from './dpop.ts';

export interface UpstreamRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Headers to send besides Authorization (which is always ours). */
  headers?: Record<string, string>;
  body?: string;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  /** The body as text (at most `maxBytes`). */
  text: string;
}

export interface UpstreamOptions {
  getAccessCredentials: GetAccessCredentials;
  /** For the return path of a step-up login. */
  baseUrl: URL;
  authRoutes?: ReadonlySet<string>;
  /** Milliseconds before the upstream call is abandoned. */
  timeoutMs: number;
  /** Largest accepted response body in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** The fetch that sends the request (the telemetry wrapper, which adds `traceparent`); the global fetch by default. */
  fetch?: ((url: URL, init: RequestInit & { headers: Headers }, request?: object) => Promise<Response>) | undefined;
}

/** Function type of `bff.callApi`. */
export type CallApi = (ctx: Koa.Context, url: URL, request?: UpstreamRequest) => Promise<UpstreamResponse>;

/**
 * Builds `callApi(ctx, url, request)`. Errors from getAccessToken (401, 503) pass through; the
 * upstream call itself fails with {@link UpstreamError} (502): `ERR_UPSTREAM_UNREACHABLE`,
 * `ERR_UPSTREAM_TIMEOUT`, `ERR_UPSTREAM_REDIRECT`, `ERR_UPSTREAM_TOO_LARGE`. A 401 with
 * `WWW-Authenticate: ... error="insufficient_user_authentication"` (RFC 9470 3) throws
 * {@link StepUpRequiredError} (a new login with the `acr_values`/`max_age` it names). Any other
 * HTTP status is returned to the caller, who decides what it means. With a DPoP-bound token the
 * request carries `Authorization: DPoP` and a fresh proof, and is sent again once when the API
 * answers `use_dpop_nonce` (RFC 9449 7.1, 9).
 */
export function upstreamCaller(options: UpstreamOptions): CallApi {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const doFetch = options.fetch ?? fetch;
  return async function callApi(ctx, url, request = {}) {
    const { accessToken, dpopKey } = await options.getAccessCredentials(ctx);
    const method = request.method ?? 'GET';
    const send = () => sendOnce(doFetch, ctx, url, method, request, accessToken, dpopKey, options.timeoutMs);
    let response = await send();
    if (dpopKey && wantsNonce(response)) {
      await response.body?.cancel();
      response = await send();
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new UpstreamError('ERR_UPSTREAM_REDIRECT', 'The remote service gave an unexpected answer.', { detail: `${url.origin} answered ${response.status}` });
    }
    const stepUp = response.status === 401 ? insufficientUserAuthentication(response.headers.get('www-authenticate')) : undefined;
    if (stepUp) {
      await response.body?.cancel();
      throw new StepUpRequiredError(returnToFor(ctx, options.baseUrl, options.authRoutes), stepUp.acrValues, stepUp.maxAge);
    }
    return { status: response.status, headers: response.headers, text: await readLimited(response, maxBytes, url) };
  };
}

/** One upstream request: the token (as DPoP with a fresh proof, or Bearer) and the route's headers. */
async function sendOnce(
  doFetch: NonNullable<UpstreamOptions['fetch']>, ctx: Koa.Context, url: URL, method: string, request: UpstreamRequest,
  accessToken: string, dpopKey: JWK | undefined, timeoutMs: number,
): Promise<Response> {
  const headers = new Headers(request.headers);
  if (dpopKey) {
    headers.set('authorization', `DPoP ${accessToken}`);
    headers.set('dpop', await dpopProof(dpopKey, method, url, accessToken));
  } else {
    headers.set('authorization', `Bearer ${accessToken}`);
  }
  let response: Response;
  try {
    response = await doFetch(url, {
      method,
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    }, ctx);
  } catch (err) {
    const timeout = (err as { name?: string }).name === 'TimeoutError';
    throw new UpstreamError(timeout ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNREACHABLE', 'The remote service could not be reached. Please try again.', { detail: `${url.origin}: ${String(err)}`, cause: err });
  }
  if (dpopKey) rememberNonce(url, response);
  return response;
}

async function readLimited(response: Response, maxBytes: number, url: URL): Promise<string> {
  const tooLarge = () => new UpstreamError('ERR_UPSTREAM_TOO_LARGE', 'The remote service gave an unexpected answer.', { detail: `${url.origin} sent more than ${maxBytes} bytes` });
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof UpstreamError) throw err;
    const timeout = (err as { name?: string }).name === 'TimeoutError';
    throw new UpstreamError(timeout ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNREACHABLE', 'The remote service could not be reached. Please try again.', { detail: `${url.origin}: ${String(err)}`, cause: err });
  }
  return Buffer.concat(chunks).toString('utf8');
}
