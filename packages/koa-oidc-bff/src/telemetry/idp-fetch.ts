/**
 * A fetch for openid-client's `customFetch` hook that times every request to the IdP
 * (`bff_idp_request_duration_seconds{endpoint}`), counts failures (`bff_idp_errors_total{endpoint,
 * kind}`) and makes a client span per traced request ({@link idpFetch} says which). The endpoint is named from the discovery metadata
 * (OIDC Discovery 1.0, 3), so the labels stay a closed set whatever the IdP's URLs look like.
 */
import { context, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { CustomFetch } from 'openid-client';
import { childParent } from './request-span.ts';
import type { Telemetry } from './telemetry.ts';

/** The IdP endpoints the package calls (end_session is a browser redirect, listed for completeness). */
export type IdpEndpoint = 'discovery' | 'jwks' | 'token' | 'par' | 'revocation' | 'end_session' | 'userinfo' | 'other';

/** Endpoint metadata used to name a request (OIDC Discovery 1.0, 3; RFC 8414 2). */
export interface IdpEndpoints {
  token_endpoint?: string | undefined;
  /** RFC 9126 5. */
  pushed_authorization_request_endpoint?: string | undefined;
  jwks_uri?: string | undefined;
  revocation_endpoint?: string | undefined;
  end_session_endpoint?: string | undefined;
  userinfo_endpoint?: string | undefined;
}

/** Names `url` by the metadata field that holds it. */
export function endpointNamer(metadata: IdpEndpoints): (url: string) => IdpEndpoint {
  const names = new Map<string, IdpEndpoint>();
  const add = (u: string | undefined, name: IdpEndpoint) => u && !names.has(u) && names.set(u, name);
  add(metadata.token_endpoint, 'token');
  add(metadata.pushed_authorization_request_endpoint, 'par');
  add(metadata.jwks_uri, 'jwks');
  add(metadata.revocation_endpoint, 'revocation');
  add(metadata.end_session_endpoint, 'end_session');
  add(metadata.userinfo_endpoint, 'userinfo');
  return (url) => names.get(url) ?? (url.includes('/.well-known/') ? 'discovery' : 'other');
}

/** Kind of a failed IdP request, for `bff_idp_errors_total{kind}`. */
function errorKind(err: unknown): 'timeout' | 'network' {
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
}

/**
 * Wraps `inner` (the global fetch by default).
 * @param nameOf names a request URL (see {@link endpointNamer}).
 * @param options.background true for requests no single request owns (discovery, key set
 *   downloads): their span is a child of the active context, or a new trace's root. False (the
 *   default) for the requests a request makes (token, PAR, revocation): a span only as a child of
 *   a recorded span ({@link childParent}), so that the IdP call of a request that is not sampled
 *   does not start a trace of its own.
 */
export function idpFetch(t: Telemetry, nameOf: (url: string) => IdpEndpoint, options: { background?: boolean; inner?: CustomFetch } = {}): CustomFetch {
  const inner: CustomFetch = options.inner ?? ((url, init) => fetch(url, init as RequestInit));
  const background = options.background === true;
  const labels = new Map<string, Attributes>();
  const labelsOf = (endpoint: IdpEndpoint, kind?: string): Attributes => {
    const key = kind ? `${endpoint} ${kind}` : endpoint;
    let l = labels.get(key);
    if (!l) labels.set(key, (l = Object.freeze(kind ? { endpoint, kind } : { endpoint })));
    return l;
  };
  return async function instrumentedIdpFetch(url, init) {
    const endpoint = nameOf(url);
    const parent = !t.tracingOn ? undefined : background ? context.active() : childParent();
    const target = new URL(url);
    const span = parent
      ? t.tracer.startSpan(`IdP ${endpoint}`, {
          kind: SpanKind.CLIENT,
          attributes: { 'bff.idp.endpoint': endpoint, 'http.request.method': init.method, 'server.address': target.hostname, 'server.port': Number(target.port || (target.protocol === 'https:' ? 443 : 80)) },
        }, parent)
      : undefined;
    const start = performance.now();
    try {
      const response = await inner(url, init);
      span?.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) {
        t.idpErrors.add(1, labelsOf(endpoint, response.status >= 500 ? 'http_5xx' : 'http_4xx'));
        if (response.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
      }
      return response;
    } catch (err) {
      const kind = errorKind(err);
      t.idpErrors.add(1, labelsOf(endpoint, kind));
      span?.setStatus({ code: SpanStatusCode.ERROR, message: kind });
      throw err;
    } finally {
      t.idpDuration.record((performance.now() - start) / 1000, labelsOf(endpoint));
      span?.end();
    }
  };
}
