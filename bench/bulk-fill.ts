/**
 * Fast filling of a store with up to a million synthetic sessions for the store-scale phase:
 * SQLite rows inserted over a second connection in large transactions, Redis keys written in
 * pipelines (each session with a copy of the real login's token record), each in the layout the store itself writes (sqlite-store.ts schema, redis-scripts.ts
 * and redis-cluster.ts key layouts). A sample is then read back through the store's own `get` and compared, so a
 * change of layout fails the run loudly instead of measuring something else. Stores without a
 * bulk path (memory, or unknown) are filled through `store.create`.
 */
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ChainableCommander } from 'ioredis';
import { parseClusterNodes, userTag } from 'koa-oidc-bff/stores/redis-cluster';
import type { SessionStore } from 'koa-oidc-bff';
import { fillStore, syntheticId, syntheticRecord, type SessionTemplate } from './synthetic-sessions.ts';


const SQLITE_COLUMNS = ['id', 'sub', 'sid', 'created_at', 'last_seen_at', 'idle_expires_at', 'absolute_expires_at', 'expires_at', 'user_agent', 'data'];

function sqliteFill(file: string, template: SessionTemplate, from: number, to: number): void {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    const columns = (db.pragma('table_info(sessions)') as { name: string }[]).map((c) => c.name);
    const missing = SQLITE_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) throw new Error(`bulk fill: the sessions table has no column ${missing.join(', ')}; update bench/bulk-fill.ts to the store's schema`);
    // Schema version 2: the token record in the table `session_tokens`.
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    if (template.tokens && !tables.includes('session_tokens')) throw new Error('bulk fill: the store has token records but no `session_tokens` table; update bench/bulk-fill.ts to the store\'s schema');
    const insert = db.prepare(`INSERT INTO sessions (${SQLITE_COLUMNS.join(', ')}) VALUES (${SQLITE_COLUMNS.map(() => '?').join(', ')})`);
    const insertTokens = template.tokens ? db.prepare('INSERT INTO session_tokens (id, tokens) VALUES (?, ?)') : undefined;
    const tokens = template.tokens ? JSON.stringify(template.tokens) : null;
    const now = Date.now();
    const batch = db.transaction((start: number, end: number) => {
      for (let i = start; i < end; i++) {
        const r = syntheticRecord(i, template.record, now);
        insert.run(r.id, r.sub, r.sid ?? null, r.createdAt, r.lastSeenAt, r.idleExpiresAt, r.absoluteExpiresAt, Math.min(r.idleExpiresAt, r.absoluteExpiresAt), r.userAgent, JSON.stringify(r.data));
        insertTokens?.run(r.id, tokens);
      }
    });
    for (let i = from; i < to; i += 20_000) batch(i, Math.min(to, i + 20_000));
  } finally {
    db.close();
  }
}

/**
 * Writes over a connection of its own: the store's client gives up on a command after 1 s, which
 * a pipeline of thousands of commands can take on a busy machine.
 * @param prefix the store's key prefix (redis-store.ts exposes it as `prefix`).
 */
/**
 * Runs `writeBatch` over [from, to) in batches of 1,000 with two batches in flight: Redis executes
 * one while the next is being built here.
 */
async function inBatches(from: number, to: number, writeBatch: (start: number, end: number) => Promise<void>): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: 2 }, async () => {
    while (next < to) {
      const start = next;
      next = Math.min(to, next + 1000);
      await writeBatch(start, next);
    }
  }));
}

async function redisFill(url: string, prefix: string, template: SessionTemplate, from: number, to: number): Promise<void> {
  const p = prefix;
  const now = Date.now();
  const tokens = template.tokens ? JSON.stringify(template.tokens) : undefined;
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const writeBatch = async (start: number, end: number) => {
    const pipeline = redis.pipeline();
    for (let j = start; j < end; j++) {
      const r = syntheticRecord(j, template.record, now);
      const fields: (string | number)[] = ['sub', r.sub, 'ca', r.createdAt, 'ls', r.lastSeenAt, 'ie', r.idleExpiresAt, 'ae', r.absoluteExpiresAt, 'ua', r.userAgent];
      if (r.sid !== undefined) fields.push('sid', r.sid);
      for (const [key, value] of Object.entries(r.data)) if (value !== undefined) fields.push(`d:${key}`, JSON.stringify(value));
      const key = `${p}s:${r.id}`;
      const ttl = Math.min(r.idleExpiresAt, r.absoluteExpiresAt) - r.lastSeenAt;
      pipeline.hset(key, ...fields).pexpire(key, ttl);
      if (tokens !== undefined) pipeline.set(`${p}t:${r.id}`, tokens, 'PX', ttl);
      for (const index of [`${p}u:${r.sub}`, ...(r.sid === undefined ? [] : [`${p}i:${r.sid}`])]) {
        pipeline.zadd(index, r.absoluteExpiresAt, r.id).pexpire(index, r.absoluteExpiresAt - r.lastSeenAt);
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0]!;
  };
  try {
    await inBatches(from, to, writeBatch);
  } finally {
    redis.disconnect();
  }
}

/**
 * The Redis Cluster store's layout (redis-cluster.ts): each session's keys under its user's tag
 * `P{T}`, the sid index `P i:<sid>` in a slot of its own. Each command goes into the pipeline of
 * the primary serving its key's slot (cluster-key-slot, the cluster's slot map), over that node's
 * own connection: one pipeline per node per 1,000 sessions, two batches in flight.
 */
async function redisClusterFill(nodes: string, prefix: string, template: SessionTemplate, from: number, to: number): Promise<void> {
  const p = prefix;
  const now = Date.now();
  const tokens = template.tokens ? JSON.stringify(template.tokens) : undefined;
  const cluster = new Cluster(parseClusterNodes(nodes), { redisOptions: { maxRetriesPerRequest: 1 } });
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('error', reject);
  });
  const primaries = new Map(cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const nodeOf = (key: string) => {
    const node = primaries.get(cluster.slots[calculateSlot(key)]?.[0] ?? '');
    if (!node) throw new Error(`bulk fill: no primary known for ${key}`);
    return node;
  };
  const writeBatch = async (start: number, end: number) => {
    const pipelines = new Map<Redis, ChainableCommander>();
    const on = (key: string) => {
      const node = nodeOf(key);
      let pipeline = pipelines.get(node);
      if (!pipeline) pipelines.set(node, (pipeline = node.pipeline()));
      return pipeline;
    };
    for (let j = start; j < end; j++) {
      const r = syntheticRecord(j, template.record, now);
      const fields: (string | number)[] = ['sub', r.sub, 'ca', r.createdAt, 'ls', r.lastSeenAt, 'ie', r.idleExpiresAt, 'ae', r.absoluteExpiresAt, 'ua', r.userAgent];
      if (r.sid !== undefined) fields.push('sid', r.sid);
      for (const [key, value] of Object.entries(r.data)) if (value !== undefined) fields.push(`d:${key}`, JSON.stringify(value));
      const tagged = `${p}{${userTag(r.sub)}}`;
      const key = `${tagged}s:${r.id}`;
      const ttl = Math.min(r.idleExpiresAt, r.absoluteExpiresAt) - r.lastSeenAt;
      const indexTtl = r.absoluteExpiresAt - r.lastSeenAt;
      // Record, tokens and user index share the slot of the user's tag.
      const slot = on(key).hset(key, ...fields).pexpire(key, ttl);
      if (tokens !== undefined) slot.set(`${tagged}t:${r.id}`, tokens, 'PX', ttl);
      slot.zadd(`${tagged}u:${r.sub}`, r.absoluteExpiresAt, r.id).pexpire(`${tagged}u:${r.sub}`, indexTtl);
      if (r.sid !== undefined) {
        const sidKey = `${p}i:${r.sid}`;
        on(sidKey).zadd(sidKey, r.absoluteExpiresAt, r.id).pexpire(sidKey, indexTtl);
      }
    }
    for (const replies of await Promise.all([...pipelines.values()].map((pipeline) => pipeline.exec()))) {
      const failed = (replies ?? []).find(([err]) => err);
      if (failed) throw failed[0]!;
    }
  };
  try {
    await inBatches(from, to, writeBatch);
  } finally {
    cluster.disconnect();
  }
}

/** Reads a spread of the new sessions back through the store and compares them with what was written. */
async function verify(store: SessionStore, template: SessionTemplate, from: number, to: number): Promise<void> {
  const step = Math.max(1, Math.floor((to - from) / 50));
  for (let i = from; i < to; i += step) {
    const expected = syntheticRecord(i, template.record, Date.now());
    const got = await store.get(syntheticId(i), Date.now());
    const user = got?.data.user as { sub?: unknown } | undefined;
    if (!got || got.sub !== expected.sub || got.sid !== expected.sid || user?.sub !== expected.sub || !isDeepStrictEqual(got.data, expected.data)) {
      throw new Error(`bulk fill: synthetic session ${i} does not read back through store.get as written; the ${store.kind} store's layout changed (update bench/bulk-fill.ts)`);
    }
    if (!isDeepStrictEqual(await store.getTokens(syntheticId(i), Date.now()), template.tokens)) {
      throw new Error(`bulk fill: the token record of synthetic session ${i} does not read back through store.getTokens as written; the ${store.kind} store's layout changed (update bench/bulk-fill.ts)`);
    }
  }
}

/**
 * Adds synthetic sessions [from, to) to `store` as fast as its kind allows.
 * @param sqlitePath the SQLite file the store uses (for the second connection).
 * @returns the wall time in ms and how the sessions were written.
 */
export async function bulkFill(store: SessionStore, template: SessionTemplate, from: number, to: number, paths: { sqlitePath: string; redisUrl: string | undefined; clusterNodes?: string | undefined }): Promise<{ ms: number; method: string }> {
  const start = performance.now();
  let method: string;
  if (store.kind === 'sqlite') {
    sqliteFill(paths.sqlitePath, template, from, to);
    method = 'SQLite: INSERTs over a second connection, 20,000 per transaction';
  } else if (store.kind === 'redis' && paths.redisUrl && typeof (store as { prefix?: unknown }).prefix === 'string') {
    await redisFill(paths.redisUrl, (store as unknown as { prefix: string }).prefix, template, from, to);
    method = 'Redis: HSET/PEXPIRE/ZADD in pipelines of 1,000 sessions, 2 in flight, in the store\'s key layout';
  } else if (store.kind === 'redis-cluster' && paths.clusterNodes && typeof (store as { prefix?: unknown }).prefix === 'string') {
    await redisClusterFill(paths.clusterNodes, (store as unknown as { prefix: string }).prefix, template, from, to);
    method = 'Redis Cluster: HSET/PEXPIRE/ZADD in one pipeline per primary per 1,000 sessions, 2 in flight, in the store\'s key layout';
  } else {
    await fillStore(store, template, from, to);
    return { ms: performance.now() - start, method: 'store.create, 100 at a time' };
  }
  const ms = performance.now() - start;
  await verify(store, template, from, to);
  return { ms, method };
}
