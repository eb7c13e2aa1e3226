/**
 * A server span per request, named by route template (`GET /sessions/:ref/end`, never the raw
 * path), and `http_server_request_duration_seconds{http_request_method, http_route,
 * http_response_status_code}` (OpenTelemetry HTTP semantic conventions). The incoming
 * `traceparent` is honoured (W3C Trace Context). A sampled (recorded) span becomes the request's
 * active context, so store, IdP and upstream spans become its children, `callApi` sends its
 * `traceparent`, and a request log line below it can read its ids. An unsampled request enters no
 * context: on Node 20 an active context manager (AsyncLocalStorage) runs async_hooks for every
 * promise, which costs far more than the span itself, and a host can keep it off between sampled
 * requests (the demo's src/telemetry-context.ts).
 *
 * The route is what @koa/router matched (`ctx._matchedRoute`); requests no route matched (static
 * files, 404s) carry no `http.route`.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';
import type Koa from 'koa';
import type { Telemetry } from './telemetry.ts';

/**
 * The trace context of each request in flight (its server span), for code that has the Koa
 * context but not an active one: `callApi` sends it upstream also for an unsampled request, so
 * the upstream follows this request's sampling decision.
 */
export const requestTraceContexts = new WeakMap<object, Context>();

/** Methods kept as they are; anything else is `_OTHER` (semantic conventions: bounded method values). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

const SERVER_SPAN = Object.freeze({ kind: SpanKind.SERVER });

/** Builds the middleware; a plain pass-through when no SDK listens. */
export function serverTelemetry(t: Telemetry): Koa.Middleware {
  if (!t.metricsOn && !t.tracingOn) {
    return function serverTelemetryOff(_ctx, next) {
      return next();
    };
  }
  const { tracer, httpDuration, tracingOn } = t;
  // Label sets by "method route status": built once per distinct combination (bounded by the app's routes).
  const labelCache = new Map<string, Attributes>();
  const labelsOf = (method: string, route: string | undefined, status: number): Attributes => {
    const key = `${method} ${route ?? ''} ${status}`;
    let labels = labelCache.get(key);
    if (!labels) {
      labels = Object.freeze(route === undefined
        ? { 'http.request.method': method, 'http.response.status_code': status }
        : { 'http.request.method': method, 'http.route': route, 'http.response.status_code': status });
      labelCache.set(key, labels);
    }
    return labels;
  };

  return async function serverTelemetryMiddleware(ctx, next) {
    const start = performance.now();
    const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : '_OTHER';
    let status = 500;
    let span;
    try {
      if (tracingOn) {
        const parent = propagation.extract(ROOT_CONTEXT, ctx.headers);
        span = tracer.startSpan(method, SERVER_SPAN, parent);
        const spanContext = trace.setSpan(parent, span);
        requestTraceContexts.set(ctx, spanContext);
        // Attributes only for a recorded span: most requests are not sampled.
        if (span.isRecording()) {
          span.setAttributes({ 'http.request.method': method, 'url.scheme': ctx.protocol });
          await context.with(spanContext, next);
        } else {
          await next();
        }
      } else {
        await next();
      }
      status = ctx.status;
    } finally {
      const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const route = typeof matched === 'string' ? matched : undefined;
      httpDuration.record((performance.now() - start) / 1000, labelsOf(method, route, status));
      if (span?.isRecording()) {
        if (route !== undefined) {
          span.updateName(`${method} ${route}`);
          span.setAttribute('http.route', route);
        }
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span?.end();
    }
  };
}
