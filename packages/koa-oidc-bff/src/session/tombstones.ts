/**
 * Ended sessions stay ended. A session its user ends (from another browser, or all others) or the
 * IdP ends (back-channel logout) leaves a tombstone in the store: its id, nothing personal,
 * expiring with the session's absolute lifetime (after which the browser's cookie has expired
 * too). A login started by a browser whose cookie still names a tombstoned session asks the IdP
 * for the user's credentials (`prompt=login`, `max_age=0`) instead of signing in silently through
 * the IdP's own session. Ending a session also revokes its refresh token (RFC 7009).
 *
 * The tombstone is read only where a browser starts a login or presents the cookie of a session
 * that no longer exists, never on the path of a live session.
 */
import type Koa from 'koa';
import { sessionState } from './session-middleware.ts';
import type { SessionRecord, SessionStore } from './store.ts';
import { tokensOf } from '../tokens/refresh.ts';
import type { Revoke } from '../logout/revocation.ts';

/** Seconds a tombstone for `record` lives: what is left of its absolute lifetime (at least 1). */
export function tombstoneTtl(record: Pick<SessionRecord, 'absoluteExpiresAt'>, now: number): number {
  return Math.max(1, Math.ceil((record.absoluteExpiresAt - now) / 1000));
}

/**
 * True when the request's (validly signed) session cookie names a session that no longer exists
 * and was ended by its user or the IdP. A store that cannot answer counts as yes (fail closed: at
 * worst the user types the password once more).
 */
export async function namesEndedSession(ctx: Koa.Context, store: SessionStore): Promise<boolean> {
  const { cookieSessionId, record } = sessionState(ctx);
  if (!cookieSessionId || record) return false;
  try {
    return await store.hasTombstone(cookieSessionId);
  } catch {
    return true;
  }
}

/** Ends sessions so that they stay ended (see the module comment). */
export interface SessionEnder {
  /**
   * Ends each of `records`: reads its tokens, leaves a tombstone, destroys it, then revokes its
   * refresh token at the IdP (best effort, after the session is gone).
   * @returns how many were destroyed by this call.
   * @throws store errors (503) before the first destroy that fails; sessions ended so far stay ended.
   */
  end(records: readonly SessionRecord[], context: { requestId?: string | undefined }): Promise<number>;
}

/** Builds the {@link SessionEnder} over `store`; `revoke` is the IdP revocation (logout/revocation.ts). */
export function createSessionEnder(options: { store: SessionStore; revoke: Revoke; now: () => number }): SessionEnder {
  const { store, revoke, now } = options;
  return {
    async end(records, context) {
      const refreshTokens: string[] = [];
      for (const record of records) {
        const { refreshToken } = tokensOf((await store.getTokens(record.id, now())) ?? {});
        if (refreshToken) refreshTokens.push(refreshToken);
        await store.addTombstone(record.id, tombstoneTtl(record, now()));
        await store.destroy(record.id);
      }
      await Promise.all(refreshTokens.map((refreshToken) => revoke({ refreshToken }, { event: 'session.revocation_failed', requestId: context.requestId })));
      return records.length;
    },
  };
}
