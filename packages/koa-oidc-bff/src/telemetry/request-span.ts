/**
 * The trace context of each request in flight, kept on its Koa context rather than held as the
 * active context for the whole request. On Node 20 an active context (AsyncLocalStorage) runs
 * async_hooks for every promise of every request while any context is entered; entering the
 * request's context for the whole of each sampled request kept the hooks on for most requests
 * under load. So the context is entered only around the package's own short child operations
 * (store, IdP calls) of a sampled request ({@link inRequestSpan}), and handed explicitly where the
 * code has the Koa context (`callApi`, the request log line through {@link requestSpan}).
 */
import { context, trace, type Context, type Span } from '@opentelemetry/api';

/** Where a request carries its trace state: a property of its own (a WeakMap entry per request cost the garbage collector more). */
const HELD = Symbol('koa-oidc-bff.requestSpan');

interface Held {
  /** The server span, sampled or not. */
  span: Span;
  /** What the request's headers carried (traceparent, baggage), or the root context. */
  parent: Context;
  /** The active context of a sampled (recorded) request: its server span; undefined otherwise. */
  recorded: Context | undefined;
}
type Carrier = { [HELD]?: Held };

/** Records the server span of `request` (server-span.ts); `parent` is what its headers carried. */
export function setRequestSpan(request: object, span: Span, parent: Context): void {
  (request as Carrier)[HELD] = { span, parent, recorded: span.isRecording() ? trace.setSpan(parent, span) : undefined };
}

/**
 * The trace context of `request` with its server span, sampled or not (for `callApi`: an
 * unsampled request's decision travels upstream too); undefined when tracing is off.
 */
export function requestTraceContext(request: object): Context | undefined {
  const held = (request as Carrier)[HELD];
  if (!held) return undefined;
  return held.recorded ?? trace.setSpan(held.parent, held.span);
}

/**
 * The recorded (sampled) OpenTelemetry server span of a request, for a log line's `trace_id` and
 * `span_id` or the app's own child spans (`tracer.startSpan(name, {}, trace.setSpan(context.active(), span))`).
 * @param ctx the Koa context of the request, below `bff.telemetry()`.
 * @returns undefined when no SDK traces, or the request was not sampled.
 */
export function requestSpan(ctx: object): Span | undefined {
  const held = (ctx as Carrier)[HELD];
  return held?.recorded ? held.span : undefined;
}

/**
 * Runs `fn(a, b)` with the request's server span as the active context when the request is
 * sampled, so the store, IdP and upstream spans made inside become its children; otherwise calls
 * it directly (no context entered, nothing allocated). Keep `fn` short: while it runs, an
 * AsyncLocalStorage context manager hooks every promise of the process.
 */
export function inRequestSpan<A, B, R>(request: object | undefined, fn: (a: A, b: B) => R, a: A, b: B): R {
  const active = request && (request as Carrier)[HELD]?.recorded;
  return active === undefined ? fn(a, b) : context.with(active, fn, undefined, a, b);
}
