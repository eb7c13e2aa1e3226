/**
 * Redis session store (ioredis): several app instances sharing one Redis share sessions, and a
 * session ended on one instance is gone on all at once (nothing is cached per instance).
 *
 * Fault handling: a Redis that is down or frozen must cost a request well under 2 s and end in a
 * 503, never a hang or a crash. So: ioredis's unbounded offline queue is off; instead a command
 * issued while (re)connecting waits for the connection at most half the timeout (a reconnect blip
 * costs a short wait, not an error); a command timeout; a socket timeout that drops a connection
 * that stopped answering, after which commands fail at once; in-flight commands never replayed
 * after a reconnect (the caller was already told they failed); and a retry strategy that keeps
 * reconnecting for ever, so the app recovers by itself.
 *
 * `get` is one HGETALL (one round trip); writes are Lua scripts (see redis-scripts.ts).
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { BffLogger as Logger } from '../log.ts';
import { CREATE, DESTROY, DESTROY_INDEXED, SET_TOKENS, TOUCH, UNLOCK, UPDATE } from './redis-scripts.ts';
import { guarded } from '../session/store-errors.ts';
import type { SessionRecord, SessionStore, TokenRecord } from '../session/store.ts';

export interface RedisStoreOptions {
  /** Prefix of every key (default `bff:`); lets several apps, or parallel test runs, share one Redis. */
  prefix?: string;
  /** Milliseconds before a command, or a connection attempt, is given up. Default 1000. */
  timeoutMs?: number;
  /** Milliseconds to wait for the first connection before returning the store anyway. Default 2000. */
  startupWaitMs?: number;
  /**
   * Replicas that must confirm a login or an ended session (Redis `WAIT`) before the store reports
   * it done; when fewer confirm within {@link waitTimeoutMs} the call rejects with
   * `StoreUnavailableError` (a 503) instead of acknowledging a write a failover could lose.
   * Default 0 (no wait): set 1 for a Redis with replicas (Sentinel) that fails over.
   */
  waitReplicas?: number;
  /** Milliseconds `WAIT` may take; keep it below {@link timeoutMs}. Default 500. */
  waitTimeoutMs?: number;
  logger?: Logger;
}

/**
 * Confirms that `replicas` replicas hold every write sent so far on `client`'s connection (Redis
 * `WAIT`, which itself waits at most `timeoutMs`).
 * @throws Error when fewer confirm in time (the store turns it into a 503).
 */
export async function confirmReplicas(client: { wait(replicas: number, timeoutMs: number): Promise<number> }, replicas: number, timeoutMs: number): Promise<void> {
  if (replicas <= 0) return;
  const confirmed = await client.wait(replicas, timeoutMs);
  if (confirmed < replicas) throw new Error(`WAIT: ${confirmed} of ${replicas} replicas confirmed within ${timeoutMs} ms`);
}

/** The Redis store; `client` is exposed for tests and diagnostics. */
export interface RedisSessionStore extends SessionStore {
  readonly client: Redis;
  readonly prefix: string;
}

export type Args = (string | number)[];
interface Scripts {
  bffCreate(...args: Args): Promise<number>;
  bffUpdate(...args: Args): Promise<number>;
  bffTouch(...args: Args): Promise<number>;
  bffDestroy(...args: Args): Promise<number>;
  bffDestroyIndexed(...args: Args): Promise<number>;
  bffUnlock(...args: Args): Promise<number>;
  bffSetTokens(...args: Args): Promise<number>;
}

const DATA = 'd:';

/**
 * The hash fields of a session record as the Redis stores keep it (`sub`, `ca`, `ls`, `ie`, `ae`,
 * `ua`, `sid` when known, and `d:<key>` JSON per data key), with its key and index lifetimes (ms).
 */
export function recordFields(r: SessionRecord): { fields: Args; ttl: number; indexTtl: number } {
  const fields: Args = ['sub', r.sub, 'ca', r.createdAt, 'ls', r.lastSeenAt, 'ie', r.idleExpiresAt, 'ae', r.absoluteExpiresAt, 'ua', r.userAgent];
  if (r.sid !== undefined) fields.push('sid', r.sid);
  for (const [key, value] of Object.entries(r.data)) if (value !== undefined) fields.push(DATA + key, JSON.stringify(value));
  const ttl = Math.max(1, Math.min(r.idleExpiresAt, r.absoluteExpiresAt) - r.lastSeenAt);
  const indexTtl = Math.max(1, r.absoluteExpiresAt - r.lastSeenAt);
  return { fields, ttl, indexTtl };
}

/** The `d:<key>` hash field names for the top-level data keys `set` (with JSON values) and `remove`, as UPDATE takes them. */
export function updateArgs(set: Record<string, unknown>, remove: readonly string[]): Args {
  const pairs: Args = [];
  const removed = [...remove];
  for (const [key, value] of Object.entries(set)) {
    if (value === undefined) removed.push(key);
    else pairs.push(DATA + key, JSON.stringify(value));
  }
  return [pairs.length / 2, ...pairs, ...removed.map((k) => DATA + k)];
}

/** ioredis settings for fast failure and endless reconnection (see the module comment). */
export function redisClientOptions(timeoutMs: number): RedisOptions {
  return {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // Twice the command timeout: a busy event loop is not mistaken for a dead server.
    socketTimeout: 2 * timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    // 50 ms, 100 ms, ... then every second, for ever.
    retryStrategy: (attempt) => Math.min(attempt * 50, 1000),
  };
}

/**
 * Connects to `url` and returns the store once connected, or after `startupWaitMs` when Redis
 * is not reachable yet (the app then starts, answers 503 to session requests, and reports the
 * store down in /readyz until Redis answers).
 */
export async function createRedisStore(url: string, options: RedisStoreOptions = {}): Promise<RedisSessionStore> {
  const prefix = options.prefix ?? 'bff:';
  const logger = options.logger;
  const timeoutMs = options.timeoutMs ?? 1000;
  const waitReplicas = options.waitReplicas ?? 0;
  const waitTimeoutMs = options.waitTimeoutMs ?? 500;
  const redis = new Redis(url, redisClientOptions(timeoutMs)) as Redis & Scripts;
  // WAIT covers the writes sent before it on its own connection, and holds that connection until
  // the replicas answer or its timeout passes: confirmed writes (logins, ended sessions) get a
  // connection of their own, so a replica that is slow or gone delays them, never the reads.
  const writer = waitReplicas > 0 ? (redis.duplicate() as Redis & Scripts) : redis;
  const replicated = () => confirmReplicas(writer, waitReplicas, waitTimeoutMs);
  const connection = readiness(redis);
  const writerReady = writer === redis ? connection : readiness(writer);
  // Its outages are the main connection's too (same server): only that one reports them.
  if (writer !== redis) writer.on('error', () => undefined);
  let down = false;
  // Without an 'error' listener ioredis reports each failed reconnect on stderr; log an outage once, and its end.
  redis.on('error', (err: Error) => {
    if (!down) logger?.warn({ event: 'store.down', store: 'redis', err: err.message }, 'Redis unreachable; session requests answer 503 until it is back');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger?.info({ event: 'store.up', store: 'redis' }, 'Redis reachable again');
    down = false;
  });
  for (const client of new Set([redis, writer])) {
    client.defineCommand('bffCreate', { numberOfKeys: 4, lua: CREATE });
    client.defineCommand('bffSetTokens', { numberOfKeys: 2, lua: SET_TOKENS });
    client.defineCommand('bffUpdate', { numberOfKeys: 1, lua: UPDATE });
    client.defineCommand('bffTouch', { numberOfKeys: 2, lua: TOUCH });
    client.defineCommand('bffDestroy', { numberOfKeys: 0, lua: DESTROY });
    client.defineCommand('bffDestroyIndexed', { numberOfKeys: 1, lua: DESTROY_INDEXED });
    client.defineCommand('bffUnlock', { numberOfKeys: 1, lua: UNLOCK });
  }
  await Promise.all([connection.wait(options.startupWaitMs ?? 2000), writerReady.wait(options.startupWaitMs ?? 2000)]);

  const sessionKey = (id: string) => `${prefix}s:${id}`;
  const tokensKey = (id: string) => `${prefix}t:${id}`;
  const subKey = (sub: string) => `${prefix}u:${sub}`;
  const sidKey = (sid: string) => `${prefix}i:${sid}`;
  /** Runs a store call once `ready`'s connection is (or after half the timeout); failures become 503s. */
  const runOn = (ready: { wait(ms: number): Promise<void> }) => <T>(operation: () => Promise<T>) => guarded('redis', async () => {
    await ready.wait(timeoutMs / 2);
    return operation();
  });
  const run = runOn(connection);
  /** For a write confirmed by `replicated()`: on the writer's connection. */
  const runConfirmed = runOn(writerReady);

  return {
    kind: 'redis',
    client: redis,
    prefix,
    get: (id, now) => run(async () => fromHash(id, await redis.hgetall(sessionKey(id)), now)),
    create: (r, tokens) => runConfirmed(async () => {
      const { fields, ttl, indexTtl } = recordFields(r);
      const key = sessionKey(r.id);
      await writer.bffCreate(key, subKey(r.sub), r.sid === undefined ? key : sidKey(r.sid), tokensKey(r.id), r.id, ttl, r.absoluteExpiresAt, r.lastSeenAt, indexTtl, tokens ? JSON.stringify(tokens) : '', ...fields);
      await replicated();
    }),
    getTokens: (id, now) => run(async () => {
      // One round trip: the session's expiry times (a record past them is over, whatever its TTL) and the tokens.
      const replies = (await redis.pipeline().hmget(sessionKey(id), 'ie', 'ae').get(tokensKey(id)).exec()) ?? [];
      for (const [err] of replies) if (err) throw err;
      const [ie, ae] = (replies[0]?.[1] ?? []) as (string | null)[];
      const json = replies[1]?.[1] as string | null | undefined;
      if (!json || !(Number(ie) > now && Number(ae) > now)) return undefined;
      return JSON.parse(json) as TokenRecord;
    }),
    setTokens: (id, tokens) => run(async () => (await redis.bffSetTokens(sessionKey(id), tokensKey(id), JSON.stringify(tokens))) === 1),
    update: (id, set, remove = []) => run(async () => (await redis.bffUpdate(sessionKey(id), ...updateArgs(set, remove))) === 1),
    touch: (id, lastSeenAt, idleExpiresAt) => run(async () => {
      await redis.bffTouch(sessionKey(id), tokensKey(id), lastSeenAt, idleExpiresAt);
    }),
    destroy: (id) => runConfirmed(async () => {
      await writer.bffDestroy(prefix, id);
      await replicated();
    }),
    // Session keys expire with their session: counting them (SCAN, sampled every 30 s at most) counts live ones.
    countLive: () => run(async () => {
      let n = 0;
      for await (const keys of redis.scanStream({ match: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}s:*`, count: 1000 })) n += (keys as string[]).length;
      return n;
    }),
    listBySub: (sub, now) => run(async () => {
      const ids = await redis.zrangebyscore(subKey(sub), `(${now}`, '+inf');
      if (ids.length === 0) return [];
      const replies = (await redis.pipeline(ids.map((id) => ['hgetall', sessionKey(id)])).exec()) ?? [];
      const records: SessionRecord[] = [];
      const vanished: string[] = [];
      ids.forEach((id, i) => {
        const [err, hash] = replies[i] ?? [];
        if (err) throw err;
        const h = hash as Record<string, string>;
        if (h.ls === undefined) vanished.push(id);
        const record = fromHash(id, h, now);
        if (record) records.push(record);
      });
      // Sessions whose key expired by TTL leave their index entry behind: prune them here.
      if (vanished.length > 0) await redis.zrem(subKey(sub), ...vanished);
      return records.sort((a, b) => b.createdAt - a.createdAt);
    }),
    destroyBySub: (sub, exceptId) => runConfirmed(async () => {
      const n = await writer.bffDestroyIndexed(subKey(sub), prefix, exceptId ?? '');
      await replicated();
      return n;
    }),
    destroyBySid: (sid) => runConfirmed(async () => {
      const n = await writer.bffDestroyIndexed(sidKey(sid), prefix, '');
      await replicated();
      return n;
    }),
    // Replicated like the other writes: a failover must not bring back silent sign-in for an ended session.
    addTombstone: (id, ttlSeconds) => runConfirmed(async () => {
      await writer.set(`${prefix}x:${id}`, '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)));
      await replicated();
    }),
    hasTombstone: (id) => run(async () => (await redis.exists(`${prefix}x:${id}`)) === 1),
    claimOnce: (key, ttlSeconds) => run(async () => (await redis.set(`${prefix}c:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK'),
    releaseClaim: (key) => run(async () => {
      await redis.del(`${prefix}c:${key}`);
    }),
    tryLock: (key, ttlMs) => run(async () => {
      const lockKey = `${prefix}l:${key}`;
      const token = randomBytes(16).toString('base64url');
      if ((await redis.set(lockKey, token, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
      // Compare-and-delete: after our lock expired someone else may hold it.
      return () => run(async () => {
        await redis.bffUnlock(lockKey, token);
      });
    }),
    ping: () => run(async () => {
      await redis.ping();
    }),
    async close() {
      const clients = [...new Set([redis, writer])];
      await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
      for (const c of clients) c.disconnect();
    },
  };
}

/** The record stored in `hash` (an HGETALL reply), or undefined when missing or expired at `now`. */
export function fromHash(id: string, hash: Record<string, string>, now: number): SessionRecord | undefined {
  if (hash.ls === undefined) return undefined;
  const record: SessionRecord = {
    id,
    sub: hash.sub ?? '',
    sid: hash.sid,
    createdAt: Number(hash.ca),
    lastSeenAt: Number(hash.ls),
    idleExpiresAt: Number(hash.ie),
    absoluteExpiresAt: Number(hash.ae),
    userAgent: hash.ua ?? '',
    data: {},
  };
  if (!(record.idleExpiresAt > now && record.absoluteExpiresAt > now)) return undefined;
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(DATA)) record.data[field.slice(DATA.length)] = JSON.parse(value);
  }
  return record;
}

/** Tracks whether `redis` (a client or a cluster) is ready, with one shared promise (no listener per waiting request). */
export function readiness(redis: { on(event: string, listener: () => void): unknown; readonly status: string }): { wait(ms: number): Promise<void> } {
  let ready!: Promise<void>;
  let markReady!: () => void;
  let settled = false;
  const reset = () => {
    settled = false;
    ready = new Promise((resolve) => (markReady = resolve));
  };
  reset();
  redis.on('ready', () => {
    settled = true;
    markReady();
  });
  // A new wait only after a connection that was ready is lost; waiters of a pending one keep it.
  redis.on('close', () => {
    if (settled) reset();
  });
  return {
    /** Resolves when ready, or after `ms` whatever happens (the command then fails fast). */
    async wait(ms) {
      if (redis.status === 'ready') return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ready, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
    },
  };
}
