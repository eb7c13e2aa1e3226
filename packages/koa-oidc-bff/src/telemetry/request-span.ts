/**
 * The trace context of each request in flight, kept on its Koa context rather than held as the
 * active context for the whole request.
 *
 * On Node 20 the only way to carry a context across `await` is AsyncLocalStorage, and the first
 * time one is entered, Node installs V8 promise hooks that stay installed: every promise of the
 * process is slower from then on, even after the storage is disabled. So the package enters the
 * OpenTelemetry context (the host's context manager) only where a sampled request's child calls
 * happen after an `await` it does not control: its own routes and token refreshes, which call the
 * IdP ({@link inRequestContext}). Store calls start their span synchronously, so a sampled
 * request's store calls find their parent in a synchronous scope ({@link inRequestSpan}) that
 * enters nothing. `callApi` and the request log line get the context from the Koa context.
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

/** The synchronous scope's value for a request that is not sampled: its calls make no child span. */
const UNSAMPLED: unique symbol = Symbol('unsampled');
/**
 * The request whose code is running synchronously right now ({@link inRequestSpan}): its recorded
 * context, or UNSAMPLED; undefined outside any such scope. JavaScript runs one call stack at a
 * time, and the scope is left in a `finally`, so it never names another request.
 */
let current: Context | typeof UNSAMPLED | undefined;

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
 * Calls `fn(a, b)` in the synchronous scope of `request`: a store call that `fn` starts before
 * its first `await` is a child of the request's span when the request is sampled
 * ({@link childParent}). Enters no context and allocates nothing.
 */
export function inRequestSpan<A, B, R>(request: object | undefined, fn: (a: A, b: B) => R, a: A, b: B): R {
  const held = request && (request as Carrier)[HELD];
  if (held === undefined) return fn(a, b);
  const outer = current;
  current = held.recorded ?? UNSAMPLED;
  try {
    return fn(a, b);
  } finally {
    current = outer;
  }
}

/**
 * Calls `fn(a, b)` with the request's server span as the active OpenTelemetry context when the
 * request is sampled, so that calls made after an `await` (the IdP's, through openid-client) are
 * its children too; otherwise as {@link inRequestSpan}. For the package's own rare paths (login,
 * callback, logout, token refresh) only: see the file comment.
 */
export function inRequestContext<A, B, R>(request: object | undefined, fn: (a: A, b: B) => R, a: A, b: B): R {
  const recorded = request && (request as Carrier)[HELD]?.recorded;
  return recorded === undefined ? inRequestSpan(request, fn, a, b) : context.with(recorded, inRequestSpan<A, B, R>, undefined, request, fn, a, b);
}

/**
 * The parent of a child span (store, IdP call) starting now: the sampled request of the
 * synchronous scope, or else the active context when its span is recording; undefined when no
 * child span should be made (an unsampled request, or no request at all).
 */
export function childParent(): Context | undefined {
  if (current !== undefined) return current === UNSAMPLED ? undefined : current;
  const active = context.active();
  return trace.getSpan(active)?.isRecording() ? active : undefined;
}
