/**
 * Fault injection around a real store: while a method's name is in `failing`, it rejects as an
 * unreachable backend would (StoreUnavailableError, a 503), and counts the calls it refused.
 */
import { StoreUnavailableError, type SessionStore } from 'koa-oidc-bff';

export interface FaultyStore {
  store: SessionStore;
  /** Method names that reject now; add and delete at will. */
  failing: Set<keyof SessionStore>;
  /** Calls refused so far, by method. */
  refused: Map<string, number>;
}

/** Wraps `inner` (never closed here). */
export function faultyStore(inner: SessionStore): FaultyStore {
  const failing = new Set<keyof SessionStore>();
  const refused = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (failing.has(prop as keyof SessionStore)) {
          refused.set(String(prop), (refused.get(String(prop)) ?? 0) + 1);
          return Promise.reject(new StoreUnavailableError('test', new Error('injected')));
        }
        return value.apply(target, args);
      };
    },
  });
  return { store, failing, refused };
}
