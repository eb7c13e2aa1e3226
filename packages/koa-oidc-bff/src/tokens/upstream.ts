/**
 * Calls an API behind the BFF with the user's access token (RFC 6750 2.1). The upstream request
 * is built from scratch: `Authorization: Bearer <token>` and the headers the route names, nothing
 * from the incoming request (no cookie, no htmx or forwarding headers). Redirects are not
 * followed (they could carry the token elsewhere), the time is bounded, and the answer's size too.
 */
import type Koa from 'koa';
import { UpstreamError } from '../errors.ts';
import type { GetAccessToken } from './access-token.ts';

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
  getAccessToken: GetAccessToken;
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
 * `ERR_UPSTREAM_TIMEOUT`, `ERR_UPSTREAM_REDIRECT`, `ERR_UPSTREAM_TOO_LARGE`. Any HTTP status is
 * returned to the caller, who decides what it means.
 */
export function upstreamCaller(options: UpstreamOptions): CallApi {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const send = options.fetch ?? fetch;
  return async function callApi(ctx, url, request = {}) {
    const token = await options.getAccessToken(ctx);
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${token}`);
    let response: Response;
    try {
      response = await send(url, {
        method: request.method ?? 'GET',
        headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      }, ctx);
    } catch (err) {
      const timeout = (err as { name?: string }).name === 'TimeoutError';
      throw new UpstreamError(timeout ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNREACHABLE', 'The remote service could not be reached. Please try again.', { detail: `${url.origin}: ${String(err)}`, cause: err });
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new UpstreamError('ERR_UPSTREAM_REDIRECT', 'The remote service gave an unexpected answer.', { detail: `${url.origin} answered ${response.status}` });
    }
    return { status: response.status, headers: response.headers, text: await readLimited(response, maxBytes, url) };
  };
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
