/**
 * A server span per request, named by route template (`GET /sessions/:ref/end`, never the raw
 * path), and `http_server_request_duration_seconds{http_request_method, http_route,
 * http_response_status_code}` (OpenTelemetry HTTP semantic conventions). The incoming
 * `traceparent` is honoured (W3C Trace Context). The span is kept on the Koa context
 * (request-span.ts), not entered as the active context for the whole request: a sampled
 * request's store calls find it in a synchronous scope, the package enters it only around its own
 * routes and token refreshes (IdP calls), and `callApi` and the request log line read it from the
 * Koa context. An unsampled request enters no context at all.
 *
 * The route is what @koa/router matched (`ctx._matchedRoute`); requests no route matched (static
 * files, 404s) carry no `http.route`.
 */
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type Koa from 'koa';
import { setRequestSpan } from './request-span.ts';
import type { Telemetry } from './telemetry.ts';

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
  // The headers the registered propagator reads (traceparent, tracestate, baggage, or b3...): a
  // request with none of them has nothing to extract.
  const propagationFields = tracingOn ? propagation.fields() : [];
  const carriesContext = (headers: Record<string, unknown>) => {
    for (const field of propagationFields) if (headers[field] !== undefined) return true;
    return false;
  };
  // Label sets by method, route and status: built once per distinct combination (bounded by the
  // app's routes), found again without building a key string per request.
  const labelCache = new Map<string, Map<string | undefined, Map<number, Attributes>>>();
  const labelsOf = (method: string, route: string | undefined, status: number): Attributes => {
    let byRoute = labelCache.get(method);
    if (!byRoute) labelCache.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let labels = byStatus.get(status);
    if (!labels) {
      labels = Object.freeze(route === undefined
        ? { 'http.request.method': method, 'http.response.status_code': status }
        : { 'http.request.method': method, 'http.route': route, 'http.response.status_code': status });
      byStatus.set(status, labels);
    }
    return labels;
  };

  /** Records the request's duration and ends its span (with route and status when it is recorded). */
  const finish = (ctx: Koa.Context, start: number, method: string, span: Span | undefined, status: number): void => {
    const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
    const route = typeof matched === 'string' ? matched : undefined;
    httpDuration.record((performance.now() - start) / 1000, labelsOf(method, route, status));
    if (span === undefined) return;
    if (span.isRecording()) {
      if (route !== undefined) {
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };

  // Not an async function (one promise fewer per request), and its only closures are the two
  // anonymous callbacks of `then` (a closure bound to a name costs a `__name` call per request
  // under tsx, whose esbuild transform keeps function names).
  return function serverTelemetryMiddleware(ctx, next) {
    const start = performance.now();
    const method = KNOWN_METHODS.has(ctx.method) ? ctx.method : '_OTHER';
    let span: Span | undefined;
    try {
      if (tracingOn) {
        const parent = carriesContext(ctx.headers) ? propagation.extract(ROOT_CONTEXT, ctx.headers) : ROOT_CONTEXT;
        span = tracer.startSpan(method, SERVER_SPAN, parent);
        setRequestSpan(ctx, span, parent);
        // Attributes only for a recorded span: most requests are not sampled.
        if (span.isRecording()) span.setAttributes({ 'http.request.method': method, 'url.scheme': ctx.protocol });
      }
    } catch (err) {
      finish(ctx, start, method, span, 500);
      throw err;
    }
    return next().then(() => finish(ctx, start, method, span, ctx.status), (err: unknown) => {
      finish(ctx, start, method, span, 500);
      throw err;
    });
  };
}
