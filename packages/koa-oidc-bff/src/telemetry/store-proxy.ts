/**
 * The session store as the package uses it when an SDK listens: every operation timed
 * (`bff_session_store_duration_seconds{op}`), failures counted (`bff_session_store_errors_total{op}`),
 * and a child span per operation when the request's span is recorded. Span attributes name the
 * store kind and the operation only, never a key or a session id.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { SessionStore } from '../session/store.ts';
import { childParent } from './request-span.ts';
import type { Telemetry } from './telemetry.ts';

/** The operations that are timed: every method of the contract that talks to the backend. */
const OPS = ['get', 'create', 'getTokens', 'setTokens', 'update', 'touch', 'destroy', 'listBySub', 'destroyBySub', 'destroyBySid', 'claimOnce', 'releaseClaim', 'addTombstone', 'hasTombstone', 'tryLock', 'ping', 'countLive'] as const;
type Op = (typeof OPS)[number];

/** Wraps `store`; the wrapper has the same `kind` and methods (`countLive` and `newId` only when the store has them). */
export function instrumentStore(store: SessionStore, t: Telemetry): SessionStore {
  const out: Record<string, unknown> = { kind: store.kind, close: () => store.close() };
  for (const op of OPS) {
    const method = store[op] as StoreMethod | undefined;
    if (typeof method === 'function') out[op] = timed(op, store, method, t);
  }
  // Not an operation (no I/O), but a store that makes its own ids (Redis Cluster) must keep making them.
  if (typeof store.newId === 'function') out.newId = store.newId.bind(store);
  return out as unknown as SessionStore;
}

/** Every operation of the contract takes at most three arguments. */
type StoreMethod = (this: SessionStore, a?: unknown, b?: unknown, c?: unknown) => Promise<unknown>;

function timed(op: Op, store: SessionStore, method: StoreMethod, t: Telemetry) {
  const labels: Attributes = Object.freeze({ op });
  const spanName = `session_store ${op}`;
  const spanOptions = Object.freeze({ kind: SpanKind.CLIENT, attributes: Object.freeze({ 'db.system.name': store.kind, 'db.operation.name': op }) });
  const { tracer, storeDuration, storeErrors, tracingOn } = t;
  /** Counts and times a failed operation, ends its span, and rethrows `err`. */
  const failed = (err: unknown, start: number, span: Span | undefined): never => {
    storeErrors.add(1, labels);
    storeDuration.record((performance.now() - start) / 1000, labels);
    if (span) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      span.end();
    }
    throw err;
  };
  // A plain function with fixed arguments (no async frame, no rest array, no bound function), whose
  // only closures are the two anonymous callbacks of `then`: a `get` runs on every authenticated
  // request. (A closure bound to a name inside it costs a `__name` call per call under tsx, whose
  // esbuild transform keeps function names: 0.6 µs per operation in a loop.)
  return function instrumentedStoreOp(a?: unknown, b?: unknown, c?: unknown): Promise<unknown> {
    // A child span only under a recorded request span: an unsampled request costs no span object.
    const parent = tracingOn ? childParent() : undefined;
    const span = parent && tracer.startSpan(spanName, spanOptions, parent);
    const start = performance.now();
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(method.call(store, a, b, c));
    } catch (err) {
      return Promise.reject(err).catch((e: unknown) => failed(e, start, span));
    }
    return pending.then((value) => {
      storeDuration.record((performance.now() - start) / 1000, labels);
      span?.end();
      return value;
    }, (e: unknown) => failed(e, start, span));
  };
}
