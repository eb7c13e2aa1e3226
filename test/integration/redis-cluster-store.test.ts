/**
 * The Redis Cluster store on a real 6-node cluster of the test's own (3 primaries, 3 replicas):
 * the store contract, the slot layout (a user's sessions, tokens and index in one slot; users
 * spread over every primary), and durability (no login or logout acknowledged without a replica).
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { createRedisClusterStore, userTag, type RedisClusterSessionStore } from 'koa-oidc-bff/stores/redis-cluster';
import { StoreUnavailableError } from 'koa-oidc-bff';
import { recordFor, sampleTokens, storeContract, type RegisterTest } from 'koa-oidc-bff/testing';
import { hasRedisCluster, startRedisCluster, type TestCluster } from '../helpers/redis-cluster.ts';
import { readWhileLoginWaits } from '../helpers/replica-wait.ts';
import { spawnApp } from '../helpers/spawn-app.ts';

let cluster: TestCluster | undefined;
const available = hasRedisCluster();
if (!available && process.env.CI) throw new Error('redis-server and redis-cli are required under CI');

test.before(async () => {
  if (available) cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

const open = async (options: Parameters<typeof createRedisClusterStore>[1] = {}): Promise<RedisClusterSessionStore> =>
  createRedisClusterStore(cluster!.seeds, { prefix: `t${randomUUID().slice(0, 8)}:`, ...options });

const register: RegisterTest = (title, fn) => (available ? test : test.skip)(title, async (t) => {
  await fn();
  t.pass();
});

storeContract('redis-cluster', async () => {
  const store = await open();
  return { store, close: () => store.close() };
}, register);

const slotOf = async (store: RedisClusterSessionStore, key: string) => Number(await store.client.cluster('KEYSLOT', key));

(available ? test : test.skip)('a session id carries its user\'s tag: record, tokens and user index share one slot; users spread over every primary', async (t) => {
  const store = await open();
  try {
    const primaries = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = recordFor(store);
      await store.create(r, sampleTokens());
      t.is(r.id.slice(0, 3), userTag(r.sub));
      const key = store.sessionKey(r.id)!;
      const slot = await slotOf(store, key);
      t.is(await slotOf(store, `${store.prefix}{${userTag(r.sub)}}u:${r.sub}`), slot, 'user index in the session slot');
      t.is(await slotOf(store, key.replace('}s:', '}t:')), slot, 'tokens in the session slot');
      const owner = (await store.client.cluster('SLOTS')).find(([a, b]) => slot >= a && slot <= b);
      primaries.add(String(owner?.[2]?.[1]));
    }
    t.is(primaries.size, 3, 'sessions on all three primaries');
    t.is(await store.get('no-tag-at-all', Date.now()), undefined, 'an id without a tag is simply unknown');
    await t.throwsAsync(store.create(recordFor(store, { id: store.newId!('someone else') })), { instanceOf: TypeError });
  } finally {
    await store.close();
  }
});

(available ? test : test.skip)('steps cut short (a crash between the sid index and the session) leave only entries naming no session: skipped, kept, harmless', async (t) => {
  const store = await open();
  try {
    const sid = `sid-${randomUUID()}`;
    const sidKey = `${store.prefix}i:${sid}`;
    // A login that died after its first step: its id is in the sid index, its session was never written.
    const orphan = recordFor(store, { sid });
    await store.client.zadd(sidKey, orphan.absoluteExpiresAt, orphan.id);
    const live = recordFor(store, { sid });
    await store.create(live);
    t.is(await store.client.zcard(sidKey), 2);
    t.is(await store.destroyBySid(sid), 1, 'only the real session counts');
    t.is(await store.get(live.id, Date.now()), undefined, 'and it ended');
    t.deepEqual(await store.client.zrange(sidKey, '0', '-1'), [orphan.id], 'the orphan entry stays (its login might still be completing) until its absolute expiry');
    // That login completing late is then found by the next back-channel logout.
    await store.create(orphan);
    t.is(await store.destroyBySid(sid), 1);
    t.is(await store.client.exists(sidKey), 0, 'nothing left');
  } finally {
    await store.close();
  }
});

(available ? test : test.skip)('countLive counts the live sessions on every primary', async (t) => {
  const store = await open();
  try {
    const now = Date.now();
    t.is(await store.countLive!(now), 0);
    const records = Array.from({ length: 12 }, () => recordFor(store));
    for (const r of records) await store.create(r);
    const expired = recordFor(store, { idleExpiresAt: now - 1 });
    await store.create(expired);
    // Its key lives 1 ms (the shortest PEXPIRE): let that pass.
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.is(await store.countLive!(now), 12, 'the expired one is not counted');
    await store.destroy(records[0]!.id);
    t.is(await store.countLive!(now), 11);
  } finally {
    await store.close();
  }
});

(available ? test.serial : test.skip)('a login waiting for its replica (WAIT) does not hold the reads of its shard', async (t) => {
  const store = await open({ waitTimeoutMs: 1500 });
  const c = cluster!;
  try {
    const [shard] = await c.topology();
    const inShard = async (id: string) => {
      const slot = await slotOf(store, store.sessionKey(id)!);
      return shard!.slots.some(([a, b]) => slot >= a && slot <= b);
    };
    const pick = async (sub?: string) => {
      for (let i = 0; i < 500; i++) {
        const r = recordFor(store, sub === undefined ? {} : { sub });
        if (await inShard(r.id)) return r;
      }
      throw new Error('no id in the shard');
    };
    const reader = await pick();
    await store.create(reader);
    const login = await pick();
    const replica = c.node(shard!.replica!);
    replica.freeze();
    try {
      // WAIT blocks the connection it was sent on for up to 1.5 s: reads must not queue behind it.
      const { order, read, readMs } = await readWhileLoginWaits(store, login, reader.id);
      t.not(read, undefined);
      t.deepEqual(order, ['read', 'login refused'], `the read answered first (${readMs} ms), while the login still waited for its replica`);
    } finally {
      replica.thaw();
    }
  } finally {
    await store.close();
  }
  await c.waitHealthy();
});

(available ? test.serial : test.skip)('no replica confirming: login and logout answer 503 (WAIT), never acknowledged; with waitReplicas 0 they succeed', async (t) => {
  const store = await open({ waitTimeoutMs: 200 });
  const careless = await open({ waitReplicas: 0 });
  const c = cluster!;
  try {
    // A user on the first primary, whose replica is then frozen.
    const [shard] = await c.topology();
    let record = recordFor(store);
    for (let i = 0; i < 500; i++) {
      const slot = await slotOf(store, store.sessionKey(record.id)!);
      if (shard!.slots.some(([a, b]) => slot >= a && slot <= b)) break;
      record = recordFor(store);
    }
    // Setup, not under test: written without WAIT (a loaded machine's replica can take more than 200 ms).
    const existing = recordFor(store, { sub: record.sub });
    await careless.create(existing);
    const replica = c.node(shard!.replica!);
    replica.freeze();
    try {
      const started = Date.now();
      const error = await t.throwsAsync(store.create(record));
      t.true(error instanceof StoreUnavailableError, 'a 503 error');
      t.true(Date.now() - started < 1500, `quick: ${Date.now() - started} ms`);
      await t.throwsAsync(store.destroy(existing.id), { instanceOf: StoreUnavailableError });
      await t.throwsAsync(store.destroyBySub(existing.sub), { instanceOf: StoreUnavailableError });
      // Without WAIT the same writes are acknowledged: exactly what a failover could lose.
      const other = recordFor(careless, { sub: record.sub });
      await careless.create(other);
      t.not(await careless.get(other.id, Date.now()), undefined);
    } finally {
      replica.thaw();
    }
  } finally {
    await store.close();
    await careless.close();
  }
  await c.waitHealthy();
});

// Serial (so before the concurrent tests): its child process starting up would compete with their burst of connections.
(available ? test.serial : test.skip)('close() while the slot map is being reloaded leaves nothing armed: the process exits by itself', async (t) => {
  const child = spawnApp({ REDIS_CLUSTER_NODES: cluster!.spec }, 'test/helpers/cluster-store-close.ts');
  let timer: NodeJS.Timeout | undefined;
  try {
    t.like(await child.waitForLog((l) => l.event === 'closed'), { duringReload: true }, 'closed while a reload was under way');
    // A reload under way ends within its 1 s timeout; nothing else may be left running.
    const exit = await Promise.race([child.exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000, 'still running 5 s after close()')))]);
    t.deepEqual(exit, { code: 0, signal: null }, `the process exited by itself; stderr: ${child.stderr()}`);
  } finally {
    clearTimeout(timer);
    child.kill();
  }
});
