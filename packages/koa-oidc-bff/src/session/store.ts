/**
 * The session store contract. Every implementation (memory, SQLite, Redis) passes the same
 * contract test suite in test/integration/store-contract.ts.
 *
 * Times are milliseconds since the epoch. A record past `idleExpiresAt` or `absoluteExpiresAt`
 * is never returned and is eventually removed by the store.
 */

/** What the app keeps for a logged-in browser. Lives only on the server. */
export interface SessionRecord {
  /** The opaque session id carried by the cookie. Never logged (log {@link sessionIdHash} instead). */
  id: string;
  /** The user's `sub` (OIDC Core 2), indexed for "your sessions" and back-channel logout. */
  sub: string;
  /** The IdP session id (`sid` claim), indexed for back-channel logout by sid. */
  sid: string | undefined;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** The browser's User-Agent at login (truncated), for the "your sessions" page. */
  userAgent: string;
  /**
   * The hot record: JSON-serialisable session content read by every request (the user's display
   * claims, CSRF secret, login bookkeeping). Never tokens: those are the {@link TokenRecord}.
   */
  data: Record<string, unknown>;
}

/**
 * The cold record of a session: tokens, the raw ID token and the full claim set, JSON-serialisable
 * and opaque to the store. Read only where tokens are needed (API calls, profile, logout,
 * refresh); written at login and afterwards only by the token refresher, under its lock.
 */
export type TokenRecord = Record<string, unknown>;

/**
 * Storage for sessions and single-use markers. All methods reject when the backend is unreachable
 * (with `StoreUnavailableError` from store-errors.ts, a 503).
 */
export interface SessionStore {
  /** Human-readable name (`memory`, `sqlite`, `redis`, `redis-cluster`) for logs and readiness. */
  readonly kind: string;
  /**
   * Optional: a fresh, unguessable session id for a login of `sub`, for stores that place a
   * session by its user (the Redis Cluster store puts the user's hash-slot tag in the id, so the
   * session and its user's index share a slot). Without it the BFF makes 192 random bits. A store
   * that has it accepts in `create` only ids it made for that record's `sub`.
   */
  newId?(sub: string): string;
  /** The live record for `id`, or undefined when missing or expired. */
  get(id: string, now: number): Promise<SessionRecord | undefined>;
  /** Inserts a new record (a login), with its token record when given, in one atomic step. */
  create(record: SessionRecord, tokens?: TokenRecord): Promise<void>;
  /** The token record of a live session, or undefined when the session is missing, expired, or has none. */
  getTokens(id: string, now: number): Promise<TokenRecord | undefined>;
  /**
   * Replaces the token record of an existing session. Returns false (and writes nothing) when
   * the session no longer exists: tokens never resurrect a destroyed session.
   */
  setTokens(id: string, tokens: TokenRecord): Promise<boolean>;
  /**
   * Atomically replaces the top-level keys of `data` given in `set` and deletes those named in
   * `remove`; other keys are left as they are, so two requests of one session that change different
   * keys do not overwrite each other. Returns false (and writes nothing) when the record no longer
   * exists: an update never resurrects a destroyed session.
   */
  update(id: string, set: Record<string, unknown>, remove?: readonly string[]): Promise<boolean>;
  /**
   * Records activity: sets lastSeenAt and idleExpiresAt of an existing record (never creates one)
   * and moves its expiry to min(idleExpiresAt, absoluteExpiresAt). Ignored when `lastSeenAt` is not
   * newer than the stored one, so a late write never shortens a session.
   */
  touch(id: string, lastSeenAt: number, idleExpiresAt: number): Promise<void>;
  /** Removes one record and its token record. Missing ids are ignored. */
  destroy(id: string): Promise<void>;
  /** Live sessions of a user, newest first. */
  listBySub(sub: string, now: number): Promise<SessionRecord[]>;
  /** Removes every session of `sub` except `exceptId`; returns how many were removed. */
  destroyBySub(sub: string, exceptId?: string): Promise<number>;
  /** Removes every session bound to the IdP session `sid`; returns how many were removed. */
  destroyBySid(sid: string): Promise<number>;
  /**
   * Leaves a tombstone for the ended session `id` for `ttlSeconds` (what was left of its absolute
   * lifetime): the browser that held it is asked for credentials at its next login. Holds nothing
   * but the id; adding one again renews it. Written before the session is destroyed.
   */
  addTombstone(id: string, ttlSeconds: number): Promise<void>;
  /** True while session `id` has a tombstone. Read only at login, never per request. */
  hasTombstone(id: string): Promise<boolean>;
  /**
   * Atomically records `key` as used for `ttlSeconds`. Returns true for the first caller only:
   * single-use login `state` (RFC 6749 10.12), `logout_token` `jti` replay protection.
   */
  claimOnce(key: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Gives up a claim taken with {@link claimOnce} (missing keys are ignored), so the next
   * `claimOnce(key)` succeeds: a back-channel logout whose sessions could not be ended releases
   * its `jti`, and the IdP's retry is not refused as a replay.
   */
  releaseClaim(key: string): Promise<void>;
  /**
   * Tries to take the lock `key` for `ttlMs` milliseconds (single-flight token refresh across
   * instances). Returns a release function, or undefined while someone else holds it. A lock
   * expires by itself, so a crashed holder never blocks forever.
   */
  tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  /**
   * How many sessions are live at `now` (for the `bff_sessions_active` gauge, sampled at most every
   * 30 s). Optional: a store without it reports no gauge.
   */
  countLive?(now: number): Promise<number>;
  /** Answers when the backend is reachable; rejects otherwise. For readiness checks. */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
