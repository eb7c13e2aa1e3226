/**
 * Redis Cluster session store (ioredis `Cluster`): sessions spread over the cluster's primaries, and
 * a primary's failure costs a few seconds of 503s on its slots, never an acknowledged login or
 * logout.
 *
 * Key layout under the prefix P (which holds no `{` or `}`), T = the user's tag (3 base64url
 * characters of SHA-256(sub)):
 * - session id = `T.<192 random bits, base64url>` ({@link SessionStore.newId}): the cookie alone
 *   names the slot, so `get` is one HGETALL on one node (one round trip).
 * - `P{T}s:<id>` hash, `P{T}t:<id>` token record, `P{T}u:<sub>` the user's index (sorted set of
 *   ids by absolute expiry): one slot per user, so create, update, touch, setTokens, destroy and
 *   "end all other sessions" are each one Lua script on one slot, atomic as on a single Redis.
 * - `P i:<sid>` the IdP session's index: the one structure that spans slots (the sessions of one
 *   IdP session may belong to users of any tag). `P c:<key>` claims, `P l:<key>` locks: single keys.
 * - `P{T}x:<id>` the tombstone of an ended session (SET EX, confirmed by WAIT like the session's end).
 *
 * Invariants (kept by the order of the steps, each step idempotent, so a crash or a failover
 * between two steps leaves only harmless leftovers):
 * 1. A live session with a sid is in its sid index: `create` adds the id to `P i:<sid>` (and waits
 *    for its replica) before it writes the session; a crash in between leaves an index entry
 *    naming no session, which every reader skips and which leaves the index at its absolute expiry.
 * 2. An id leaves a sid index only after its session is gone: `destroy`, `destroyBySub` and
 *    `destroyBySid` delete sessions first (and wait for the replica), then remove their ids from
 *    the sid indexes; a crash in between leaves entries naming no session (as in 1). An entry whose
 *    session is not found is never removed by `destroyBySid` (its `create` may be between its two
 *    steps); it is pruned at its absolute expiry.
 * 3. A live session is in its user's index: both are written by one script in one slot.
 * 4. Logins and ended sessions are acknowledged only when `waitReplicas` replicas confirm them
 *    (Redis `WAIT` on the same connection, right after the write, in one pipeline): a failover
 *    that promotes that replica keeps them. Otherwise the call rejects with a 503. `WAIT` holds the
 *    connection it is sent on until the replicas answer or its timeout passes, so confirmed writes
 *    have connections of their own (a second client): a shard whose replica is gone delays its
 *    logins and logouts, never its reads. Claims and locks
 *    are not waited for: a lost `state` claim meets the IdP's own single-use code, a lost `jti`
 *    marker lets a replayed logout token end sessions that are already ended, a lost refresh lock
 *    allows a second refresh in the failover's second.
 *
 * Another record type: one that belongs to a session or a user (a tombstone of an ended session,
 * say) goes under the same `P{T}` tag (`P{T}x:<id>`), so the scripts that write the session can
 * write it in the same atomic step; one keyed by something else (a rate-limit counter by client
 * address) is a single key anywhere (`P r:<key>`, as claims and locks), written by one command or
 * one single-key script. Only a record that must point across users needs ordered steps like the
 * sid index, with its own invariant written here.
 *
 * Why ioredis: it is already the single-Redis store's client, so the fault settings, the Lua
 * scripts (defined per client, sent per connection as EVAL then EVALSHA) and the pipelines are
 * the same; its pipelines send a keyless command (WAIT) to the node of the pipeline's slot, which
 * is what confirms a write on the connection that made it; and `Cluster` follows MOVED/ASK and
 * reloads the slot map when asked (the store asks every second). node-redis's `createCluster` would do as well but would have
 * meant a second client, a second set of fault settings, and its script API.
 *
 * Fault handling as the single-Redis store (redis.ts), plus: every call has a deadline
 * (`timeoutMs` plus the `WAIT` budget) whatever the client's redirection retries do; a failed
 * call asks the client to reload the slot map, so the promoted replica is used as soon as the
 * cluster knows it (and at least every second anyway); scripts are sent per connection (EVAL
 * then EVALSHA), so a newly promoted primary needs no preparation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Cluster, type ChainableCommander, type ClusterOptions } from 'ioredis';
import type { BffLogger as Logger } from '../log.ts';
import { fromHash, readiness, recordFields, redisClientOptions, updateArgs, type Args } from './redis.ts';
import { CREATE, SET_TOKENS, TOUCH, UNLOCK, UPDATE } from './redis-scripts.ts';
import { DESTROY_BY_SUB, DESTROY_TAGGED, SID_INDEX_ADD } from './redis-cluster-scripts.ts';
import { guarded } from '../session/store-errors.ts';
import type { SessionRecord, SessionStore, TokenRecord } from '../session/store.ts';

export interface RedisClusterStoreOptions {
  /** Prefix of every key (default `bff:`); must not contain `{` or `}` (the store places the hash tags). */
  prefix?: string;
  /** Milliseconds before a command, or a connection attempt, is given up. Default 1000. */
  timeoutMs?: number;
  /** Milliseconds to wait for the cluster at startup before returning the store anyway. Default 2000. */
  startupWaitMs?: number;
  /**
   * Replicas that must confirm a login or an ended session (`WAIT`) before it is acknowledged.
   * Default 1: a failover never loses an acknowledged login or logout. 0 trades that for
   * availability while a primary has no replica.
   */
  waitReplicas?: number;
  /** Milliseconds `WAIT` may take before the call fails with a 503. Default 500. */
  waitTimeoutMs?: number;
  /** Extra ioredis cluster options (TLS, NAT map, passwords in `redisOptions`); the store's fault settings win. */
  clusterOptions?: ClusterOptions;
  logger?: Logger;
}

/** The cluster store; `client` is exposed for tests and diagnostics. */
export interface RedisClusterSessionStore extends SessionStore {
  readonly client: Cluster;
  readonly prefix: string;
  /** The slot-tagged key of session `id` (for tests and diagnostics), or undefined for an id without a tag. */
  sessionKey(id: string): string | undefined;
}

type Cmd = (...args: Args) => ChainableCommander;
interface ScriptCommands {
  bffCreate: Cmd;
  bffUpdate: Cmd;
  bffTouch: Cmd;
  bffSetTokens: Cmd;
  bffUnlock: Cmd;
  bffSidAdd: Cmd;
  bffDestroyTagged: Cmd;
  bffDestroyBySub: Cmd;
}

const TAG_LENGTH = 3;

/** The hash-slot tag of `sub`'s sessions: 3 base64url characters of SHA-256(sub) (262,144 tags over 16,384 slots). */
export function userTag(sub: string): string {
  return createHash('sha256').update(sub).digest('base64url').slice(0, TAG_LENGTH);
}

/** The tag a session id carries (`T.<random>`), or undefined for an id made otherwise. */
function tagOf(id: string): string | undefined {
  return id.length > TAG_LENGTH + 1 && id.charCodeAt(TAG_LENGTH) === 46 /* . */ ? id.slice(0, TAG_LENGTH) : undefined;
}

/**
 * Parses `host:port,host:port` (IPv6 as `[::1]:7000`) into cluster seed nodes.
 * @throws Error naming the first entry that is not `host:port`.
 */
export function parseClusterNodes(list: string): { host: string; port: number }[] {
  return list.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) throw new Error(`not host:port: ${JSON.stringify(entry)}`);
    return { host: match[1] ?? match[2]!, port };
  });
}

/**
 * Connects to the cluster through `nodes` (any of its nodes: the client discovers the rest) and
 * returns the store once the cluster is ready, or after `startupWaitMs` when it is not (the app then
 * starts, answers 503 to session requests, and reports the store down in /readyz until it is).
 * @throws Error when `prefix` holds a brace or `nodes` is empty (configuration errors, at once).
 */
export async function createRedisClusterStore(nodes: { host: string; port: number }[], options: RedisClusterStoreOptions = {}): Promise<RedisClusterSessionStore> {
  const prefix = options.prefix ?? 'bff:';
  if (/[{}]/.test(prefix)) throw new Error('redis-cluster store: the key prefix must not contain { or } (the store sets the hash tags)');
  if (nodes.length === 0) throw new Error('redis-cluster store: no cluster node given');
  const logger = options.logger;
  const timeoutMs = options.timeoutMs ?? 1000;
  const waitReplicas = options.waitReplicas ?? 1;
  const waitTimeoutMs = options.waitTimeoutMs ?? 500;
  const { retryStrategy: _r, ...nodeOptions } = redisClientOptions(timeoutMs);
  const cluster = new Cluster(nodes, {
    ...options.clusterOptions,
    redisOptions: { ...options.clusterOptions?.redisOptions, ...nodeOptions },
    enableOfflineQueue: false,
    // The store reloads the slot map on a timer of its own (below), not with ioredis's
    // slotsRefreshInterval: that timer is re-armed by the end of a reload, so a reload still under
    // way when quit() and disconnect() ran re-arms it on the closed client, where it then runs for
    // ever (every reload of an empty node list fails at once and arms the next), keeping the process alive.
    slotsRefreshInterval: 0,
    slotsRefreshTimeout: timeoutMs,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 50, 1000),
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 8,
    scripts: {
      bffCreate: { numberOfKeys: 4, lua: CREATE },
      bffUpdate: { numberOfKeys: 1, lua: UPDATE },
      bffTouch: { numberOfKeys: 2, lua: TOUCH },
      bffSetTokens: { numberOfKeys: 2, lua: SET_TOKENS },
      bffUnlock: { numberOfKeys: 1, lua: UNLOCK },
      bffSidAdd: { numberOfKeys: 1, lua: SID_INDEX_ADD },
      bffDestroyTagged: { numberOfKeys: 2, lua: DESTROY_TAGGED },
      bffDestroyBySub: { numberOfKeys: 1, lua: DESTROY_BY_SUB },
    },
  });
  const connection = readiness(cluster);
  // Confirmed writes and their WAIT on connections of their own (invariant 4). Its outages are the
  // main client's too (same nodes): only the main client reports them.
  const confirming = waitReplicas > 0 ? cluster.duplicate() : undefined;
  confirming?.on('error', () => undefined);
  const confirmingReady = confirming && readiness(confirming);
  const clients = confirming ? [cluster, confirming] : [cluster];
  // Reload the slot map every second: a promoted replica is found even with no redirection to tell.
  // A client that is not ready is left to its own reconnection (which loads the map); a reload
  // under way is not doubled (refreshSlotsCache starts no second one). Cleared by close().
  const reloads = setInterval(() => {
    for (const c of clients) if (c.status === 'ready') c.refreshSlotsCache();
  }, 1000);
  let down = false;
  cluster.on('error', (err: Error) => {
    if (!down) logger?.warn({ event: 'store.down', store: 'redis-cluster', err: err.message }, 'Redis Cluster unreachable; session requests answer 503 until it is back');
    down = true;
  });
  cluster.on('ready', () => {
    if (down) logger?.info({ event: 'store.up', store: 'redis-cluster' }, 'Redis Cluster reachable again');
    down = false;
  });
  await Promise.all([connection.wait(options.startupWaitMs ?? 2000), confirmingReady?.wait(options.startupWaitMs ?? 2000)]);

  const tagged = (tag: string) => `${prefix}{${tag}}`;
  const sessionKey = (id: string) => {
    const tag = tagOf(id);
    return tag === undefined ? undefined : `${tagged(tag)}s:${id}`;
  };
  const tokensKey = (id: string) => `${tagged(tagOf(id)!)}t:${id}`;
  const subKey = (sub: string) => `${tagged(userTag(sub))}u:${sub}`;
  const sidKey = (sid: string) => `${prefix}i:${sid}`;
  const tombstoneKey = (id: string) => {
    const tag = tagOf(id);
    return tag === undefined ? `${prefix}x:${id}` : `${tagged(tag)}x:${id}`;
  };
  const deadlineMs = timeoutMs + 2 * waitTimeoutMs;

  /** Runs one store call with a deadline; any failure is a 503 and a reason to reload the slot map. */
  const run = <T>(operation: () => Promise<T>) => guarded('redis-cluster', async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await connection.wait(timeoutMs / 2);
      return await Promise.race([
        operation(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs))),
      ]);
    } catch (err) {
      if (cluster.status === 'ready') cluster.refreshSlotsCache();
      if (confirming?.status === 'ready') confirming.refreshSlotsCache();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  });
  /** Sends `build`'s commands (all in one slot) in one pipeline, then WAIT when asked; returns the replies. */
  const send = async (build: (p: ChainableCommander & ScriptCommands) => void, durable: boolean): Promise<unknown[]> => {
    const replicas = durable ? waitReplicas : 0;
    if (replicas > 0) await confirmingReady!.wait(timeoutMs / 2);
    const pipeline = (replicas > 0 ? confirming! : cluster).pipeline() as ChainableCommander & ScriptCommands;
    build(pipeline);
    if (replicas > 0) pipeline.wait(replicas, waitTimeoutMs);
    const replies = (await pipeline.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const values = replies.map(([, value]) => value);
    if (replicas > 0) {
      const confirmed = Number(values.pop());
      if (confirmed < replicas) throw new Error(`WAIT: ${confirmed} of ${replicas} replicas confirmed within ${waitTimeoutMs} ms`);
    }
    return values;
  };
  /** Drops ended sessions' ids from their sid indexes (the last, idempotent step of invariant 2). */
  const unindexSids = async (entries: [id: string, sid: string][]) => {
    await Promise.all(entries.filter(([, sid]) => sid !== '').map(([id, sid]) => cluster.zrem(sidKey(sid), id).catch(() => undefined)));
  };
  /** Destroys the sessions `ids` (any tags), one pipeline per tag; returns [id, sid] of those that existed. */
  const destroyIds = async (ids: string[]): Promise<[string, string][]> => {
    const byTag = new Map<string, string[]>();
    for (const id of ids) {
      const tag = tagOf(id);
      if (tag !== undefined) byTag.set(tag, [...(byTag.get(tag) ?? []), id]);
    }
    const ended: [string, string][] = [];
    await Promise.all([...byTag].map(async ([tag, group]) => {
      const replies = await send((p) => {
        for (const id of group) p.bffDestroyTagged(sessionKey(id)!, tokensKey(id), tagged(tag), id);
      }, true);
      replies.forEach((reply, i) => {
        const [existed, sid] = reply as [number, string?];
        if (existed === 1) ended.push([group[i]!, sid ?? '']);
      });
    }));
    return ended;
  };

  return {
    kind: 'redis-cluster',
    client: cluster,
    prefix,
    sessionKey,
    newId: (sub) => `${userTag(sub)}.${randomBytes(24).toString('base64url')}`,
    get: (id, now) => {
      const key = sessionKey(id);
      if (key === undefined) return Promise.resolve(undefined);
      return run(async () => fromHash(id, await cluster.hgetall(key), now));
    },
    create: (r, tokens) => {
      if (tagOf(r.id) !== userTag(r.sub)) return Promise.reject(new TypeError('redis-cluster store: a session id must come from store.newId(sub) for the same sub'));
      return run(async () => {
        const { fields, ttl, indexTtl } = recordFields(r);
        // Invariant 1: the sid index entry first, confirmed, then the session.
        if (r.sid !== undefined) await send((p) => p.bffSidAdd(sidKey(r.sid!), r.id, r.absoluteExpiresAt, r.lastSeenAt, indexTtl), true);
        const key = sessionKey(r.id)!;
        await send((p) => p.bffCreate(key, subKey(r.sub), key, tokensKey(r.id), r.id, ttl, r.absoluteExpiresAt, r.lastSeenAt, indexTtl, tokens ? JSON.stringify(tokens) : '', ...fields), true);
      });
    },
    getTokens: (id, now) => {
      const key = sessionKey(id);
      if (key === undefined) return Promise.resolve(undefined);
      return run(async () => {
        const [meta, json] = await send((p) => p.hmget(key, 'ie', 'ae').get(tokensKey(id)), false) as [(string | null)[], string | null];
        if (!json || !(Number(meta[0]) > now && Number(meta[1]) > now)) return undefined;
        return JSON.parse(json) as TokenRecord;
      });
    },
    setTokens: (id, tokens) => {
      const key = sessionKey(id);
      if (key === undefined) return Promise.resolve(false);
      return run(async () => (await send((p) => p.bffSetTokens(key, tokensKey(id), JSON.stringify(tokens)), false))[0] === 1);
    },
    update: (id, set, remove = []) => {
      const key = sessionKey(id);
      if (key === undefined) return Promise.resolve(false);
      return run(async () => (await send((p) => p.bffUpdate(key, ...updateArgs(set, remove)), false))[0] === 1);
    },
    touch: (id, lastSeenAt, idleExpiresAt) => {
      const key = sessionKey(id);
      if (key === undefined) return Promise.resolve();
      return run(async () => {
        await send((p) => p.bffTouch(key, tokensKey(id), lastSeenAt, idleExpiresAt), false);
      });
    },
    destroy: (id) => run(async () => {
      await unindexSids(await destroyIds([id]));
    }),
    // Session keys expire with their session: counting them on every primary (SCAN, sampled every 30 s at most) counts live ones.
    countLive: () => guarded('redis-cluster', async () => {
      const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}s:*`;
      const counts = await Promise.all(cluster.nodes('master').map(async (node) => {
        let n = 0;
        for await (const keys of node.scanStream({ match: pattern, count: 1000 })) n += (keys as string[]).length;
        return n;
      }));
      return counts.reduce((a, b) => a + b, 0);
    }),
    listBySub: (sub, now) => run(async () => {
      const index = subKey(sub);
      const ids = await cluster.zrangebyscore(index, `(${now}`, '+inf');
      if (ids.length === 0) return [];
      const replies = await send((p) => {
        for (const id of ids) p.hgetall(sessionKey(id) ?? index);
      }, false);
      const records: SessionRecord[] = [];
      const vanished: string[] = [];
      ids.forEach((id, i) => {
        const h = replies[i] as Record<string, string>;
        if (h.ls === undefined) vanished.push(id);
        const record = fromHash(id, h, now);
        if (record) records.push(record);
      });
      // Sessions whose key expired by TTL leave their index entry behind: prune them here.
      if (vanished.length > 0) await cluster.zrem(index, ...vanished);
      return records.sort((a, b) => b.createdAt - a.createdAt);
    }),
    destroyBySub: (sub, exceptId) => run(async () => {
      const [reply] = await send((p) => p.bffDestroyBySub(subKey(sub), tagged(userTag(sub)), exceptId ?? ''), true);
      const [count, ...pairs] = reply as [number, ...string[]];
      const ended: [string, string][] = [];
      for (let i = 0; i + 1 < pairs.length; i += 2) ended.push([pairs[i]!, pairs[i + 1]!]);
      await unindexSids(ended);
      return count;
    }),
    destroyBySid: (sid) => run(async () => {
      const index = sidKey(sid);
      const ids = await cluster.zrange(index, '0', '-1');
      if (ids.length === 0) return 0;
      // Invariant 2: sessions first (confirmed), then only their entries leave the index.
      const ended = await destroyIds(ids);
      if (ended.length > 0) await cluster.zrem(index, ...ended.map(([id]) => id)).catch(() => undefined);
      return ended.length;
    }),
    // Beside the session, in its user's slot (`P{T}x:<id>`), and confirmed like an ended session: a
    // failover must not bring back silent sign-in. An id without a tag (not ours) is a single key anywhere.
    addTombstone: (id, ttlSeconds) => run(async () => {
      await send((p) => p.set(tombstoneKey(id), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds))), true);
    }),
    hasTombstone: (id) => run(async () => (await cluster.exists(tombstoneKey(id))) === 1),
    claimOnce: (key, ttlSeconds) => run(async () => (await cluster.set(`${prefix}c:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK'),
    releaseClaim: (key) => run(async () => {
      await cluster.del(`${prefix}c:${key}`);
    }),
    tryLock: (key, ttlMs) => run(async () => {
      const lockKey = `${prefix}l:${key}`;
      const token = randomBytes(16).toString('base64url');
      if ((await cluster.set(lockKey, token, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
      // Compare-and-delete: after our lock expired someone else may hold it.
      return () => run(async () => {
        await send((p) => p.bffUnlock(lockKey, token), false);
      });
    }),
    ping: () => run(async () => {
      // The cluster's own verdict from the first primary that answers: one shard in failover must
      // not make every instance unready at once (a load balancer would take them all out).
      const primaries = cluster.nodes('master');
      if (primaries.length === 0) throw new Error('no primary known');
      const state = await Promise.any(primaries.map((node) => node.cluster('INFO') as Promise<string>));
      if (!state.includes('cluster_state:ok')) throw new Error('cluster_state is not ok');
    }),
    async close() {
      clearInterval(reloads);
      // QUIT waits for every node's answer: a frozen node must not hold the shutdown. A reload
      // still under way ends by itself (its own timeout at most) and re-arms nothing.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(clients.map((c) => c.quit().catch(() => undefined))), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      for (const c of clients) c.disconnect();
    },
  };
}
