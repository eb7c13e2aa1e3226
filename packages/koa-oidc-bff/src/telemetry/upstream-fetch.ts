/**
 * The fetch of `callApi` when an SDK listens: a client span per upstream request whose context
 * goes upstream as W3C `traceparent` (Trace Context, level 1), and the request's duration until
 * the response headers in `bff_upstream_request_duration_seconds{status_class}`. The URL is
 * named by origin only in the span (a path or query could carry identifiers).
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { requestTraceContexts } from './server-span.ts';
import type { Telemetry } from './telemetry.ts';

/** The fetch shape `callApi` uses; `request` is the Koa context of the incoming request. */
export type UpstreamFetch = (url: URL, init: RequestInit & { headers: Headers }, request?: object) => Promise<Response>;

const setter = { set: (carrier: Headers, key: string, value: string) => carrier.set(key, value) };

/** Wraps the global fetch. */
export function upstreamFetch(t: Telemetry): UpstreamFetch {
  const classes = new Map<string, Attributes>(['1xx', '2xx', '3xx', '4xx', '5xx', 'error'].map((c) => [c, Object.freeze({ status_class: c })]));
  return async function instrumentedUpstreamFetch(url, init, request) {
    // The active context (a sampled request), else the request's own (unsampled: its decision travels upstream).
    const parent = trace.getSpan(context.active()) ? context.active() : ((request && requestTraceContexts.get(request)) ?? context.active());
    const span = t.tracingOn
      ? t.tracer.startSpan(`${init.method ?? 'GET'} upstream`, {
          kind: SpanKind.CLIENT,
          attributes: { 'http.request.method': init.method ?? 'GET', 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) },
        }, parent)
      : undefined;
    if (span) propagation.inject(trace.setSpan(parent, span), init.headers, setter);
    const start = performance.now();
    let statusClass = 'error';
    try {
      const response = await fetch(url, init);
      statusClass = `${Math.floor(response.status / 100)}xx`;
      span?.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (err) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (err as { name?: string }).name ?? 'error' });
      throw err;
    } finally {
      t.upstreamDuration.record((performance.now() - start) / 1000, classes.get(statusClass) ?? classes.get('error'));
      span?.end();
    }
  };
}
