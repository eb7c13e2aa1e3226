/**
 * In-process session store: for tests and throwaway runs only (sessions vanish on restart and
 * are not shared between instances).
 */
import type { SessionRecord, SessionStore, TokenRecord } from '../session/store.ts';

/** Creates an in-memory {@link SessionStore}. `purgeIntervalMs` controls how often expired entries are dropped. */
export function createMemoryStore(purgeIntervalMs = 60_000): SessionStore {
  // Data kept as its JSON text: a read parses once (what SQLite and Redis return), nothing is stringified per request.
  type Stored = Omit<SessionRecord, 'data'> & { json: string };
  const sessions = new Map<string, Stored>();
  const tokenRecords = new Map<string, TokenRecord>();
  const claims = new Map<string, number>();
  const tombstones = new Map<string, number>();
  const locks = new Map<string, { token: symbol; expiresAt: number }>();
  const live = (r: Stored, now: number) => r.idleExpiresAt > now && r.absoluteExpiresAt > now;
  // Through JSON, as the other stores do: what a test sees here is what SQLite or Redis would return.
  const json = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const clone = (r: Stored): SessionRecord => {
    const { json: text, ...meta } = r;
    return { ...meta, data: JSON.parse(text) as Record<string, unknown> };
  };
  const stored = (r: SessionRecord): Stored => {
    const { data, ...meta } = r;
    return { ...meta, json: JSON.stringify(data) };
  };
  const purge = () => {
    const now = Date.now();
    for (const [id, r] of sessions) {
      if (!live(r, now)) {
        sessions.delete(id);
        tokenRecords.delete(id);
      }
    }
    for (const [k, exp] of claims) if (exp <= now) claims.delete(k);
    for (const [k, exp] of tombstones) if (exp <= now) tombstones.delete(k);
  };
  const timer = setInterval(purge, purgeIntervalMs);
  timer.unref();

  return {
    kind: 'memory',
    async get(id, now) {
      const r = sessions.get(id);
      return r && live(r, now) ? clone(r) : undefined;
    },
    async create(record, tokens) {
      sessions.set(record.id, stored(record));
      if (tokens) tokenRecords.set(record.id, json(tokens));
      else tokenRecords.delete(record.id);
    },
    async getTokens(id, now) {
      const r = sessions.get(id);
      const t = tokenRecords.get(id);
      return r && t && live(r, now) ? json(t) : undefined;
    },
    async setTokens(id, tokens) {
      if (!sessions.has(id)) return false;
      tokenRecords.set(id, json(tokens));
      return true;
    },
    async update(id, set, remove = []) {
      const r = sessions.get(id);
      if (!r) return false;
      const data = JSON.parse(r.json) as Record<string, unknown>;
      for (const [key, value] of Object.entries(set)) {
        if (value === undefined) delete data[key];
        else data[key] = json(value);
      }
      for (const key of remove) delete data[key];
      r.json = JSON.stringify(data);
      return true;
    },
    async touch(id, lastSeenAt, idleExpiresAt) {
      const r = sessions.get(id);
      if (r && lastSeenAt > r.lastSeenAt) Object.assign(r, { lastSeenAt, idleExpiresAt });
    },
    async destroy(id) {
      sessions.delete(id);
      tokenRecords.delete(id);
    },
    async listBySub(sub, now) {
      return [...sessions.values()].filter((r) => r.sub === sub && live(r, now)).sort((a, b) => b.createdAt - a.createdAt).map(clone);
    },
    async destroyBySub(sub, exceptId) {
      let n = 0;
      for (const [id, r] of sessions) if (r.sub === sub && id !== exceptId) { sessions.delete(id); tokenRecords.delete(id); n++; }
      return n;
    },
    async destroyBySid(sid) {
      let n = 0;
      for (const [id, r] of sessions) if (r.sid === sid) { sessions.delete(id); tokenRecords.delete(id); n++; }
      return n;
    },
    async addTombstone(id, ttlSeconds) {
      tombstones.set(id, Date.now() + ttlSeconds * 1000);
    },
    async hasTombstone(id) {
      return (tombstones.get(id) ?? 0) > Date.now();
    },
    async claimOnce(key, ttlSeconds) {
      const now = Date.now();
      const exp = claims.get(key);
      if (exp !== undefined && exp > now) return false;
      claims.set(key, now + ttlSeconds * 1000);
      return true;
    },
    async releaseClaim(key) {
      claims.delete(key);
    },
    async tryLock(key, ttlMs) {
      const now = Date.now();
      const held = locks.get(key);
      if (held && held.expiresAt > now) return undefined;
      const token = Symbol(key);
      locks.set(key, { token, expiresAt: now + ttlMs });
      return async () => {
        if (locks.get(key)?.token === token) locks.delete(key);
      };
    },
    async countLive(now) {
      let n = 0;
      for (const r of sessions.values()) if (live(r, now)) n++;
      return n;
    },
    async ping() {},
    async close() {
      clearInterval(timer);
    },
  };
}
