/**
 * SQLite session store (the default): better-sqlite3 v12 on a file under `.data/`, so sessions
 * survive a restart of the app. WAL journal (readers never wait for the writer), one prepared
 * statement per operation, indexes on `sub`, `sid` and expiry, and a periodic purge of expired
 * rows in small batches so a large backlog never blocks the event loop for long.
 *
 * better-sqlite3 is synchronous: every statement here is atomic with respect to the app's other
 * requests. `update` is a read-modify-write in one IMMEDIATE transaction, atomic across processes too.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { guarded } from '../session/store-errors.ts';
import type { SessionRecord, SessionStore, TokenRecord } from '../session/store.ts';

export interface SqliteStoreOptions {
  /** Milliseconds between purges of expired rows. Default 5 minutes. */
  purgeIntervalMs?: number;
  /** Milliseconds a statement waits for another process's write lock before failing (blocks the event loop). Default 1000. */
  busyTimeoutMs?: number;
}

/** The SQLite store, with its purge exposed for tests and maintenance. */
export interface SqliteSessionStore extends SessionStore {
  /** Deletes expired sessions, claims, tombstones and locks now; resolves with the number of sessions removed. */
  purge(now?: number): Promise<number>;
}

/** Schema version 1 (version 2 adds the `session_tokens` table, see below). `expires_at` = min(idle, absolute) expiry: one indexed column for lookups and the purge. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  sub TEXT NOT NULL,
  sid TEXT,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  user_agent TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_sub ON sessions (sub);
CREATE INDEX IF NOT EXISTS sessions_sid ON sessions (sid) WHERE sid IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS locks (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;

const PURGE_BATCH = 500;
const COLUMNS = 'id, sub, sid, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, data';

interface Row {
  id: string;
  sub: string;
  sid: string | null;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  user_agent: string;
  data: string;
}

const toRecord = (r: Row): SessionRecord => ({
  id: r.id,
  sub: r.sub,
  sid: r.sid ?? undefined,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  idleExpiresAt: r.idle_expires_at,
  absoluteExpiresAt: r.absolute_expires_at,
  userAgent: r.user_agent,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

/**
 * Opens (creating when missing, with its directory) the SQLite store at `file`.
 * @throws when the file cannot be opened or is not a database (at startup, with the path).
 */
export function createSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteSessionStore {
  if (file !== ':memory:') {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // The file holds refresh tokens: owner-only from the start (SQLite gives its -wal and -shm
    // files the database file's permissions). An existing file keeps the mode its owner chose.
    closeSync(openSync(file, 'a', 0o600));
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable against app crashes in WAL mode; only a power loss can drop the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 1000}`);
  // Reads by id at millions of sessions: a larger page cache and memory-mapped reads keep the
  // B-tree's upper levels in memory and a lookup free of read() calls.
  db.pragma('cache_size = -32768');
  db.pragma('mmap_size = 268435456');
  if (db.pragma('user_version', { simple: true }) === 0) {
    db.exec(SCHEMA);
    db.pragma('user_version = 1');
  }
  // Version 2: the token record in a table of its own, so the rows every request reads stay small
  // (many to a page) however large the tokens and claims are; a trigger removes it with its
  // session, whichever statement deletes the session (destroy, by sub, by sid, purge).
  if (db.pragma('user_version', { simple: true }) === 1) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS session_tokens (id TEXT PRIMARY KEY, tokens TEXT NOT NULL);
      CREATE TRIGGER IF NOT EXISTS session_tokens_follow AFTER DELETE ON sessions BEGIN
        DELETE FROM session_tokens WHERE id = old.id;
      END;
    `);
    db.pragma('user_version = 2');
  }

  // Version 3: tombstones of sessions ended by their user or the IdP (ids only).
  if (db.pragma('user_version', { simple: true }) === 2) {
    db.exec('CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)');
    db.pragma('user_version = 3');
  }

  const q = {
    get: db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM sessions WHERE id = ? AND expires_at > ?`),
    insert: db.prepare(`INSERT INTO sessions (${COLUMNS}, expires_at) VALUES (@id, @sub, @sid, @created_at, @last_seen_at, @idle_expires_at, @absolute_expires_at, @user_agent, @data, @expires_at)`),
    getTokens: db.prepare<[string, number], { tokens: string }>('SELECT t.tokens FROM session_tokens t JOIN sessions s ON s.id = t.id WHERE t.id = ? AND s.expires_at > ?'),
    exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM sessions WHERE id = ?'),
    putTokens: db.prepare('INSERT INTO session_tokens (id, tokens) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET tokens = excluded.tokens'),
    dropTokens: db.prepare('DELETE FROM session_tokens WHERE id = ?'),
    data: db.prepare<[string], { data: string }>('SELECT data FROM sessions WHERE id = ?'),
    setData: db.prepare('UPDATE sessions SET data = ? WHERE id = ?'),
    touch: db.prepare('UPDATE sessions SET last_seen_at = @lastSeenAt, idle_expires_at = @idleExpiresAt, expires_at = min(@idleExpiresAt, absolute_expires_at) WHERE id = @id AND last_seen_at < @lastSeenAt'),
    destroy: db.prepare('DELETE FROM sessions WHERE id = ?'),
    listBySub: db.prepare<[string, number], Row>(`SELECT ${COLUMNS} FROM sessions WHERE sub = ? AND expires_at > ? ORDER BY created_at DESC`),
    destroyBySub: db.prepare('DELETE FROM sessions WHERE sub = ? AND id <> ?'),
    destroyBySid: db.prepare('DELETE FROM sessions WHERE sid = ?'),
    // A claim whose time is up can be taken again even before the purge removed it.
    claim: db.prepare('INSERT INTO claims (key, expires_at) VALUES (@key, @expiresAt) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE claims.expires_at <= @now'),
    releaseClaim: db.prepare('DELETE FROM claims WHERE key = ?'),
    lock: db.prepare('INSERT INTO locks (key, token, expires_at) VALUES (@key, @token, @expiresAt) ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at WHERE locks.expires_at <= @now'),
    unlock: db.prepare('DELETE FROM locks WHERE key = ? AND token = ?'),
    purgeSessions: db.prepare(`DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at <= ? LIMIT ${PURGE_BATCH})`),
    purgeClaims: db.prepare('DELETE FROM claims WHERE expires_at <= ?'),
    purgeTombstones: db.prepare('DELETE FROM tombstones WHERE expires_at <= ?'),
    addTombstone: db.prepare('INSERT INTO tombstones (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at'),
    hasTombstone: db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM tombstones WHERE id = ? AND expires_at > ?'),
    purgeLocks: db.prepare('DELETE FROM locks WHERE expires_at <= ?'),
    ping: db.prepare('SELECT 1'),
    countLive: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM sessions WHERE expires_at > ?'),
  };

  const create = db.transaction((r: SessionRecord, tokens: TokenRecord | undefined) => {
    q.insert.run({
      id: r.id, sub: r.sub, sid: r.sid ?? null, created_at: r.createdAt, last_seen_at: r.lastSeenAt,
      idle_expires_at: r.idleExpiresAt, absolute_expires_at: r.absoluteExpiresAt,
      expires_at: Math.min(r.idleExpiresAt, r.absoluteExpiresAt), user_agent: r.userAgent, data: JSON.stringify(r.data),
    });
    if (tokens) q.putTokens.run(r.id, JSON.stringify(tokens));
    else q.dropTokens.run(r.id);
  });
  // Written only while the session exists: tokens never resurrect a destroyed session.
  const setTokens = db.transaction((id: string, json: string): boolean => {
    if (!q.exists.get(id)) return false;
    q.putTokens.run(id, json);
    return true;
  });

  const update = db.transaction((id: string, set: Record<string, unknown>, remove: readonly string[]): boolean => {
    const row = q.data.get(id);
    if (!row) return false;
    const data = JSON.parse(row.data) as Record<string, unknown>;
    Object.assign(data, set);
    for (const key of remove) delete data[key];
    q.setData.run(JSON.stringify(data), id);
    return true;
  });

  let closed = false;
  let purging: Promise<number> | undefined;
  async function purge(now = Date.now()): Promise<number> {
    let removed = 0;
    for (;;) {
      if (closed) return removed;
      const { changes } = q.purgeSessions.run(now);
      removed += changes;
      if (changes < PURGE_BATCH) break;
      // Let requests in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    q.purgeClaims.run(now);
    q.purgeTombstones.run(now);
    q.purgeLocks.run(now);
    return removed;
  }
  const timer = setInterval(() => {
    purging ??= purge().catch(() => 0).finally(() => (purging = undefined));
  }, options.purgeIntervalMs ?? 300_000);
  timer.unref();

  const run = <T>(operation: () => T | Promise<T>) => guarded('sqlite', operation);

  return {
    kind: 'sqlite',
    get: (id, now) => run(() => {
      const row = q.get.get(id, now);
      return row ? toRecord(row) : undefined;
    }),
    create: (r, tokens) => run(() => {
      create.immediate(r, tokens);
    }),
    getTokens: (id, now) => run(() => {
      const row = q.getTokens.get(id, now);
      return row ? (JSON.parse(row.tokens) as TokenRecord) : undefined;
    }),
    setTokens: (id, tokens) => run(() => setTokens.immediate(id, JSON.stringify(tokens))),
    // IMMEDIATE: take the write lock before reading, so another process cannot write in between.
    update: (id, set, remove = []) => run(() => update.immediate(id, set, remove)),
    touch: (id, lastSeenAt, idleExpiresAt) => run(() => {
      q.touch.run({ id, lastSeenAt, idleExpiresAt });
    }),
    destroy: (id) => run(() => {
      q.destroy.run(id);
    }),
    listBySub: (sub, now) => run(() => q.listBySub.all(sub, now).map(toRecord)),
    destroyBySub: (sub, exceptId) => run(() => q.destroyBySub.run(sub, exceptId ?? '').changes),
    destroyBySid: (sid) => run(() => q.destroyBySid.run(sid).changes),
    addTombstone: (id, ttlSeconds) => run(() => {
      q.addTombstone.run(id, Date.now() + ttlSeconds * 1000);
    }),
    hasTombstone: (id) => run(() => q.hasTombstone.get(id, Date.now()) !== undefined),
    claimOnce: (key, ttlSeconds) => run(() => {
      const now = Date.now();
      return q.claim.run({ key, expiresAt: now + ttlSeconds * 1000, now }).changes === 1;
    }),
    releaseClaim: (key) => run(() => {
      q.releaseClaim.run(key);
    }),
    tryLock: (key, ttlMs) => run(() => {
      const now = Date.now();
      const token = randomBytes(16).toString('base64url');
      if (q.lock.run({ key, token, expiresAt: now + ttlMs, now }).changes !== 1) return undefined;
      // Deletes only our own lock: after expiry someone else may hold it.
      return () => run(() => {
        q.unlock.run(key, token);
      });
    }),
    ping: () => run(() => {
      q.ping.get();
    }),
    countLive: (now) => run(() => q.countLive.get(now)?.n ?? 0),
    purge: (now) => run(() => purge(now)),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await purging;
      db.close();
    },
  };
}
