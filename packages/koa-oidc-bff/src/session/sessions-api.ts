/**
 * The sessions API behind a "Your sessions" page: list the user's live sessions, end one, end
 * all the others. Session ids are bearer secrets, so a session is named by `ref`, the same
 * one-way hash the logs use; a ref is looked up only among the user's own sessions, so nobody
 * can end another user's session. Ending is a store delete: every instance sees it at once. An
 * ended session leaves a tombstone, so the browser that held it must give its credentials again
 * at its next login, and its refresh token is revoked at the IdP (session/tombstones.ts).
 */
import type Koa from 'koa';
import { AuthRequiredError } from '../errors.ts';
import { AUTH_EVENTS, type AuthEvents } from '../events.ts';
import { sessionIdHash } from '../log.ts';
import { assertSessionLoaded, sessionState } from './session-middleware.ts';
import type { SessionStore } from './store.ts';
import type { SessionEnder } from './tombstones.ts';
import { endSession, userSession } from './user-session.ts';

/** One live session of the user, as a page may show it. Times are milliseconds since the epoch. */
export interface SessionInfo {
  /** Stable, non-secret reference (12 characters): pass it to `end`. */
  ref: string;
  /** True for the session of the request. */
  current: boolean;
  /** The browser's User-Agent at login (at most 256 characters). */
  userAgent: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

/** See {@link createSessionsApi}. */
export interface SessionsApi {
  /**
   * The live sessions of the request's user, newest first.
   * @throws {AuthRequiredError} without a live session; store errors (503) when the store is down.
   */
  list(ctx: Koa.Context): Promise<SessionInfo[]>;
  /**
   * Ends the user's session named `ref`: destroyed, tombstoned (that browser's next login asks for
   * credentials) and its refresh token revoked. Ending the request's own session is a local logout
   * (the cookie is cleared with this response; the IdP session stays).
   * @returns `'current'`, `'other'`, or `undefined` when no session of this user has that ref
   *   (unknown, ended, or another user's: indistinguishable on purpose).
   * @throws {AuthRequiredError} without a live session.
   */
  end(ctx: Koa.Context, ref: string): Promise<'current' | 'other' | undefined>;
  /**
   * Ends every session of the user but the request's own, each as {@link end} does.
   * @returns how many were ended.
   * @throws {AuthRequiredError} without a live session.
   */
  endOthers(ctx: Koa.Context): Promise<number>;
}

const REF = /^[A-Za-z0-9_-]{12}$/;

/** Builds the sessions API over `store`; events go to `events`. */
export function createSessionsApi(options: { store: SessionStore; events: AuthEvents; ender: SessionEnder; now: () => number }): SessionsApi {
  const { store, events, ender, now } = options;

  function current(ctx: Koa.Context) {
    // A store that failed while loading the session answers 503, never "not logged in".
    assertSessionLoaded(ctx);
    const record = sessionState(ctx).record;
    if (!record || !userSession(ctx)) throw new AuthRequiredError(sessionState(ctx).cookiePresent, '/');
    return record;
  }

  const requestId = (ctx: Koa.Context) => (typeof ctx.state.requestId === 'string' ? ctx.state.requestId : undefined);

  return {
    async list(ctx) {
      const me = current(ctx);
      const records = await store.listBySub(me.sub, now());
      return records.map((r) => ({
        ref: sessionIdHash(r.id),
        current: r.id === me.id,
        userAgent: r.userAgent,
        createdAt: r.createdAt,
        lastSeenAt: r.lastSeenAt,
        idleExpiresAt: r.idleExpiresAt,
        absoluteExpiresAt: r.absoluteExpiresAt,
      }));
    },
    async end(ctx, ref) {
      const me = current(ctx);
      if (!REF.test(ref)) return undefined;
      const target = (await store.listBySub(me.sub, now())).find((r) => sessionIdHash(r.id) === ref);
      if (!target) return undefined;
      events.emit(AUTH_EVENTS.sessionEndedByUser, { sub: me.sub, sessionId: target.id, bySessionId: me.id, requestId: requestId(ctx) });
      await ender.end([target], { requestId: requestId(ctx) });
      if (target.id === me.id) {
        endSession(ctx);
        return 'current';
      }
      return 'other';
    },
    async endOthers(ctx) {
      const me = current(ctx);
      const others = (await store.listBySub(me.sub, now())).filter((r) => r.id !== me.id);
      // Then any session created meanwhile (never listed, so not tombstoned): "all others" means all.
      const ended = (await ender.end(others, { requestId: requestId(ctx) })) + (await store.destroyBySub(me.sub, me.id));
      events.emit(AUTH_EVENTS.otherSessionsEnded, { sub: me.sub, sessionId: me.id, count: ended, requestId: requestId(ctx) });
      return ended;
    },
  };
}
