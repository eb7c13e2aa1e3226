/**
 * Keeps koa-session from writing back old tokens.
 *
 * koa-session saves the whole session at the end of a request that changed it. If such a
 * request loaded its session before another request refreshed the tokens, its save would put the
 * old tokens back, and the next refresh would spend a rotated refresh token: the IdP then revokes
 * the grant. Tokens are owned by the refresher (refresh.ts), so every koa-session update goes
 * through here: under the session's refresh lock it reads the stored record and keeps its token
 * fields, whatever the request held.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UnavailableError } from '../errors.ts';
import type { SessionStore } from '../session/store.ts';
import { refreshLockKey, refreshLockTtlMs, TOKEN_FIELDS } from './refresh.ts';

/**
 * Wraps `store` for koa-session: `update(id, data)` writes `data` with the stored token fields
 * (waiting, bounded by the lock lifetime, for a refresh in progress). Every other method is the
 * store's own.
 * @param idpTimeout seconds; sets the lock lifetime as in refresh.ts.
 * @param now clock in ms (for `store.get`).
 * @throws {UnavailableError} from `update` when the lock cannot be taken within its lifetime.
 */
export function guardTokenWrites(store: SessionStore, idpTimeout: number, now: () => number): SessionStore {
  const lockTtl = refreshLockTtlMs(idpTimeout);

  async function lock(id: string): Promise<() => Promise<void>> {
    const deadline = Date.now() + lockTtl + 1000;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      const release = await store.tryLock(refreshLockKey(id), lockTtl);
      if (release) return release;
      if (Date.now() >= deadline) throw new UnavailableError('ERR_SESSION_BUSY', 'Your session is busy. Please try again in a moment.');
      await sleep(delay);
    }
  }

  // Further arguments (a store whose update also takes the keys to remove) are passed on, less the token fields.
  const storeUpdate = store.update.bind(store) as (id: string, data: Record<string, unknown>, ...rest: unknown[]) => Promise<boolean>;
  const tokenField = new Set<string>(TOKEN_FIELDS);

  async function update(id: string, data: Record<string, unknown>, ...rest: unknown[]): Promise<boolean> {
    const release = await lock(id);
    try {
      const current = await store.get(id, now());
      if (!current) return false;
      const merged = { ...data };
      for (const field of TOKEN_FIELDS) {
        if (field in current.data) merged[field] = current.data[field];
        else delete merged[field];
      }
      const passed = rest.map((arg) => (Array.isArray(arg) ? arg.filter((key) => !tokenField.has(String(key))) : arg));
      return await storeUpdate(id, merged, ...passed);
    } finally {
      await release();
    }
  }

  return new Proxy(store, {
    get(target, property) {
      if (property === 'update') return update;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
