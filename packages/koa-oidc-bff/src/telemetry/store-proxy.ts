/**
 * The session store as the package uses it when an SDK listens: every operation timed
 * (`bff_session_store_duration_seconds{op}`), failures counted (`bff_session_store_errors_total{op}`),
 * and a child span per operation when the request's span is recorded. Span attributes name the
 * store kind and the operation only, never a key or a session id.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type { SessionStore } from '../session/store.ts';
import type { Telemetry } from './telemetry.ts';

/** The operations that are timed: every method of the contract that talks to the backend. */
const OPS = ['get', 'create', 'getTokens', 'setTokens', 'update', 'touch', 'destroy', 'listBySub', 'destroyBySub', 'destroyBySid', 'claimOnce', 'releaseClaim', 'addTombstone', 'hasTombstone', 'tryLock', 'ping', 'countLive'] as const;
type Op = (typeof OPS)[number];

/** Wraps `store`; the wrapper has the same `kind` and methods (`countLive` and `newId` only when the store has them). */
export function instrumentStore(store: SessionStore, t: Telemetry): SessionStore {
  const out: Record<string, unknown> = { kind: store.kind, close: () => store.close() };
  for (const op of OPS) {
    const fn = store[op] as ((...args: unknown[]) => Promise<unknown>) | undefined;
    if (typeof fn === 'function') out[op] = timed(op, fn.bind(store), store.kind, t);
  }
  // Not an operation (no I/O), but a store that makes its own ids (Redis Cluster) must keep making them.
  if (typeof store.newId === 'function') out.newId = store.newId.bind(store);
  return out as unknown as SessionStore;
}

function timed(op: Op, fn: (...args: unknown[]) => Promise<unknown>, kind: string, t: Telemetry) {
  const labels: Attributes = Object.freeze({ op });
  const spanName = `session_store ${op}`;
  const spanAttributes: Attributes = Object.freeze({ 'db.system.name': kind, 'db.operation.name': op });
  const { tracer, storeDuration, storeErrors, tracingOn } = t;
  // Not an async function: one promise fewer per store call (a `get` runs on every authenticated request).
  return function instrumentedStoreOp(...args: unknown[]): Promise<unknown> {
    // A child span only under a recorded request span: an unsampled request costs no span object.
    const span = tracingOn && trace.getActiveSpan()?.isRecording() ? tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes: spanAttributes }) : undefined;
    const start = performance.now();
    const done = () => {
      storeDuration.record((performance.now() - start) / 1000, labels);
      span?.end();
    };
    const failed = (err: unknown) => {
      storeErrors.add(1, labels);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      done();
      throw err;
    };
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(fn(...args));
    } catch (err) {
      return Promise.reject(err).catch(failed);
    }
    return pending.then((value) => {
      done();
      return value;
    }, failed);
  };
}
