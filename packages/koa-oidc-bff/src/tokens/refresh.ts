/**
 * Single-flight access token refresh (RFC 6749 6, OIDC Core 12), free of HTTP framework code.
 *
 * IdPs that rotate refresh tokens (RFC 9700 4.14.2) revoke the whole grant when an old one is used
 * again, so two refreshes of one session must never race. Within this process, callers for the same
 * session share one promise; across instances, a short store lock (`refresh:<session hash>`)
 * elects one refresher and the others poll the store for its result. The holder re-reads the
 * session under the lock, so it never spends a refresh token that another instance already used.
 * New tokens are written with `store.setTokens` under that lock, the one place tokens are written
 * after login: the store is the only source of truth, and a session save never touches them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { AppError, UnavailableError } from '../errors.ts';
import { sessionIdHash, type BffLogger as Logger } from '../log.ts';
import type { SessionStore } from '../session/store.ts';
import { AUTH_EVENTS, type AuthEvents } from '../events.ts';
import { refreshFailureFrom } from '../oidc/oidc-errors.ts';
import type { OidcClient } from '../oidc/oidc.ts';
import { dpopHandle, storedDPoPKey } from './dpop.ts';

/** The token fields of a session's token record. Expiry in seconds since the epoch. */
export interface TokenSet {
  accessToken: string | undefined;
  refreshToken: string | undefined;
  idToken: string | undefined;
  accessTokenExpiresAt: number | undefined;
}

/** The login is over (grant gone, session destroyed meanwhile): the caller ends the session. */
export class SessionEndedError extends Error {
  constructor(readonly reason: string) {
    super(`session ended: ${reason}`);
    this.name = 'SessionEndedError';
  }
}

/** The token fields of a stored token record, ignoring values of the wrong type. */
export function tokensOf(data: Record<string, unknown>): TokenSet {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const expiresAt = data.accessTokenExpiresAt;
  return {
    accessToken: text(data.accessToken),
    refreshToken: text(data.refreshToken),
    idToken: text(data.idToken),
    accessTokenExpiresAt: typeof expiresAt === 'number' && Number.isFinite(expiresAt) ? expiresAt : undefined,
  };
}

/** The store lock that elects one refresher per session across instances. */
export function refreshLockKey(sessionId: string): string {
  return `refresh:${sessionIdHash(sessionId)}`;
}

/** Milliseconds a refresh may hold the lock: the IdP timeout plus room for the store writes. */
export function refreshLockTtlMs(idpTimeout: number): number {
  return idpTimeout * 1000 + 5000;
}

export interface RefresherOptions {
  store: SessionStore;
  oidc: OidcClient;
  /** Seconds: refresh when the access token expires within this many seconds. */
  refreshSkew: number;
  /** Seconds: bound of an IdP request, and of the wait for another instance's refresh. */
  idpTimeout: number;
  logger: Logger;
  /** Where auth events go (log line and host listeners). */
  events: AuthEvents;
  /** Clock in ms. */
  now: () => number;
}

export interface Refresher {
  /** True when `tokens` should be refreshed before use (expiring within the skew and refreshable, or already expired). */
  needsRefresh(tokens: TokenSet): boolean;
  /**
   * Fresh tokens for session `sessionId`, whose caller last saw `seen`: refreshed at most once
   * however many callers ask at the same time, here or on other instances.
   * @throws {SessionEndedError} the grant is gone or the session was destroyed.
   * @throws {UnavailableError} the IdP or the store cannot be reached, or another instance's refresh took too long.
   */
  fresh(sessionId: string, seen: TokenSet): Promise<TokenSet>;
}

/** Creates the refresher of one app instance (its in-process single-flight map lives here). */
export function createRefresher(options: RefresherOptions): Refresher {
  const { store, oidc, logger, now, events } = options;
  const inflight = new Map<string, Promise<TokenSet>>();
  const seconds = () => Math.floor(now() / 1000);
  const expiring = (t: TokenSet) => t.accessTokenExpiresAt !== undefined && t.accessTokenExpiresAt - seconds() <= options.refreshSkew;
  const expired = (t: TokenSet) => t.accessTokenExpiresAt !== undefined && t.accessTokenExpiresAt <= seconds();
  // Someone refreshed since the caller loaded its session: their still-valid result is ours too.
  const refreshedSince = (t: TokenSet, seen: TokenSet) =>
    t.accessToken !== undefined && !expired(t) && (t.refreshToken !== seen.refreshToken || t.accessToken !== seen.accessToken);

  /** The session's `sub` and its stored token record (the store is the only source of truth). */
  async function load(sessionId: string): Promise<{ sub: string; data: Record<string, unknown> }> {
    const [record, data] = await Promise.all([store.get(sessionId, now()), store.getTokens(sessionId, now())]);
    if (!record) throw new SessionEndedError('session no longer exists');
    return { sub: record.sub, data: data ?? {} };
  }

  /** Runs with the lock held: decide on the stored (latest) tokens, refresh, write back. */
  async function refreshLocked(sessionId: string, seen: TokenSet): Promise<TokenSet> {
    const started = performance.now();
    const record = await load(sessionId);
    const stored = tokensOf(record.data);
    if (refreshedSince(stored, seen)) {
      events.emit(AUTH_EVENTS.tokenRefreshCoalesced, { sub: record.sub, sessionId });
      return stored;
    }
    if (!expiring(stored)) return stored;
    if (!stored.refreshToken) {
      if (expired(stored)) throw new SessionEndedError('access token expired and no refresh token');
      return stored;
    }
    let response: Awaited<ReturnType<typeof client.refreshTokenGrant>>;
    try {
      const config = oidc.configuration();
      // A DPoP-bound refresh token is used with a proof of the session's key (RFC 9449 5).
      const dpopKey = storedDPoPKey(record.data);
      const dpop = dpopKey ? { DPoP: await dpopHandle(config, dpopKey) } : undefined;
      response = await client.refreshTokenGrant(config, stored.refreshToken, undefined, dpop);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      const failure = refreshFailureFrom(err);
      const reason = failure.kind === 'grant-gone' ? 'ERR_TOKEN_REFRESH_GRANT_GONE' : 'ERR_TOKEN_REFRESH_UNAVAILABLE';
      events.emit(AUTH_EVENTS.refreshFailed, { sub: record.sub, sessionId, reason, detail: failure.detail, durationMs: performance.now() - started });
      if (failure.kind === 'grant-gone') {
        await store.destroy(sessionId);
        throw new SessionEndedError(`refresh refused: ${failure.detail}`);
      }
      throw new UnavailableError('ERR_TOKEN_REFRESH_UNAVAILABLE', 'The identity provider cannot be reached. Please try again in a moment.', { detail: failure.detail, cause: err });
    }
    // OIDC Core 12.2: a refreshed ID token names the same user.
    const claims = response.claims();
    if (claims && claims.sub !== record.sub) {
      await store.destroy(sessionId);
      throw new SessionEndedError('refreshed ID token names another subject');
    }
    const expiresIn = response.expiresIn();
    const next: TokenSet = {
      accessToken: response.access_token,
      // Without rotation the IdP sends no new refresh token: the old one stays valid.
      refreshToken: response.refresh_token ?? stored.refreshToken,
      idToken: response.id_token ?? stored.idToken,
      accessTokenExpiresAt: expiresIn === undefined ? undefined : seconds() + expiresIn,
    };
    // update() never re-creates a session destroyed meanwhile (back-channel logout during the refresh).
    if (!(await store.setTokens(sessionId, { ...record.data, ...next }))) throw new SessionEndedError('session destroyed during refresh');
    events.emit(AUTH_EVENTS.tokenRefreshed, { sub: record.sub, sessionId, durationMs: performance.now() - started });
    return next;
  }

  /** Takes the store lock or waits (polling the store, backing off) for whoever holds it. */
  async function refreshShared(sessionId: string, seen: TokenSet): Promise<TokenSet> {
    const key = refreshLockKey(sessionId);
    const deadline = Date.now() + options.idpTimeout * 1000 + 1000;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      const release = await store.tryLock(key, refreshLockTtlMs(options.idpTimeout));
      if (release) {
        try {
          return await refreshLocked(sessionId, seen);
        } finally {
          await release().catch((err: unknown) => logger.warn({ event: 'token.lock_release_failed', err: String(err) }, 'could not release the refresh lock'));
        }
      }
      await sleep(delay);
      const polled = await load(sessionId);
      const stored = tokensOf(polled.data);
      if (refreshedSince(stored, seen)) {
        // Another instance refreshed while this one waited for the lock.
        events.emit(AUTH_EVENTS.tokenRefreshCoalesced, { sub: polled.sub, sessionId });
        return stored;
      }
      if (Date.now() >= deadline) {
        throw new UnavailableError('ERR_TOKEN_REFRESH_BUSY', 'Your access is being renewed. Please try again in a moment.', { detail: `refresh lock ${key} held beyond IDP_TIMEOUT` });
      }
    }
  }

  return {
    needsRefresh: (t) => expiring(t) && (t.refreshToken !== undefined || expired(t)),
    fresh(sessionId, seen) {
      let pending = inflight.get(sessionId);
      // A caller of this process joins the refresh already under way for the session.
      if (pending) events.emit(AUTH_EVENTS.tokenRefreshCoalesced, { sessionId });
      else {
        pending = refreshShared(sessionId, seen)
          .catch((err: unknown) => {
            if (err instanceof SessionEndedError || err instanceof AppError) throw err;
            // Anything else came from the store (get, tryLock, update, destroy).
            throw new UnavailableError('ERR_SESSION_STORE_UNAVAILABLE', 'Sessions are temporarily unavailable. Please try again in a moment.', { cause: err });
          })
          .finally(() => inflight.delete(sessionId));
        inflight.set(sessionId, pending);
      }
      return pending;
    },
  };
}
