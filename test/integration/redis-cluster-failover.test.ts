/**
 * A primary of the session store's Redis Cluster fails while 200 logged-in users and a load
 * (reads, logins, logouts) run through two app instances: once frozen (SIGSTOP, its replica takes
 * over after the cluster-node-timeout), once handed over by `CLUSTER FAILOVER` from its replica.
 * Asserted: no 500 and no hang; a 503 only for users of the failing shard (or, for logins and
 * logouts, whose other keys may be there) and only while that shard has no primary plus the few
 * seconds the client takes to learn the new one; every login and logout acknowledged, before or
 * during the failure, holds after it; the service recovers by itself.
 */
import test, { type ExecutionContext } from 'ava';
import got from 'got';
import { createRedisClusterStore, userTag, type RedisClusterSessionStore } from 'koa-oidc-bff/stores/redis-cluster';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { accountsOnEveryPrimary, hasRedisCluster, startRedisCluster, type ClusterAccount, type TestCluster } from '../helpers/redis-cluster.ts';
import { GENEROUS, startStack, type Stack } from '../helpers/stack.ts';
import { idpSendsLogout } from '../helpers/tokens.ts';
import { isRedirect, readForm, UserAgent } from '../helpers/user-agent.ts';

const available = hasRedisCluster();
if (!available && process.env.CI) throw new Error('redis-server and redis-cli are required under CI');
const it = available ? test.serial : test.skip;

/**
 * After the replica is primary, the client must be using it within this: the other nodes learn the
 * promotion by gossip (up to about a second), the slot map is reloaded every second, a reload that
 * asks the frozen node first waits out its 1 s timeout before asking the next, and a request already
 * sent to the frozen node ends at its 1 s deadline: 2-4 s seen. The frozen node is resumed only after
 * this window, so recovery never waits for it.
 */
const RECOVERY_MS = 5000;
/**
 * WAIT's budget here: CI runs every test file at once on 2 cores, where a replica can take longer
 * than the default 500 ms to confirm (a 503 outside the failure would fail the test for nothing).
 */
const WAIT_TIMEOUT_MS = 1500;
/** No request may take longer than this (command timeout 1 s, WAIT up to 1.5 s twice for a login, plus a loaded machine). */
const MAX_LATENCY_MS = 5000;

let cluster: TestCluster;
let stores: RedisClusterSessionStore[] = [];
let stack: Stack;
let second: Instance;
let accounts: ClusterAccount[] = [];

interface User { account: ClusterAccount; ua: UserAgent }
/** Sessions acknowledged and not ended: each must still work at the end. */
const live: User[] = [];
/** Cookies of sessions whose logout was acknowledged: each must stay ended. */
const ended: { account: ClusterAccount; cookie: string }[] = [];

test.before(async () => {
  if (!available) return;
  cluster = await startRedisCluster();
  accounts = await accountsOnEveryPrimary(cluster, userTag, 67);
  stores = await Promise.all([0, 1].map(() => createRedisClusterStore(cluster.seeds, { prefix: 'fo:', waitTimeoutMs: WAIT_TIMEOUT_MS })));
  stack = await startStack({ store: stores[0]!, accounts, env: { ...GENEROUS, SESSION_STORE: 'redis-cluster', REDIS_CLUSTER_NODES: cluster.spec } });
  second = await startInstance(stack, undefined, stores[1]!);
  // 200 users logged in (ten at a time), all acknowledged.
  const queue = [...accounts];
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let account = queue.shift(); account; account = queue.shift()) {
      // Setup, not under test: a login the loaded machine answers 503 is tried again.
      for (let attempt = 1; ; attempt++) {
        const ua = new UserAgent(stack.appUrl);
        try {
          await ua.login(account.username, account.password, '/');
          live.push({ account, ua });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
    }
  }));
});
test.after.always(async () => {
  // Bounded: whatever state a failed test left, the redis-servers go and the worker can exit (its
  // 10 s timer cleared once the step is done: left running, it alone kept the worker 10 s longer).
  const bounded = async (p: Promise<unknown> | undefined) => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p?.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
  };
  await bounded(second?.close());
  await bounded(stack?.close());
  await bounded(Promise.all(stores.map((s) => s.close())));
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const base = (i: number) => (i % 2 === 0 ? stack.appUrl : second.url);
const pickLive = () => live.splice(Math.floor(Math.random() * live.length), 1)[0]!;

interface Sample { kind: 'read' | 'login' | 'logout' | 'ready'; start: number; end: number; status: number; slot: number }

/** Ends `user`'s session with the app's logout form; the outcome, and the cookie the session had. */
async function appLogout(user: User, i: number): Promise<{ status: number; cookie: string; readStatus?: number }> {
  const cookie = await user.ua.jar.getCookieString(stack.appUrl);
  const home = await user.ua.http.get(`${base(i)}/`);
  if (home.statusCode !== 200) return { status: 0, readStatus: home.statusCode, cookie };
  // The home page is public: with its session's shard failing over it shows the visitor view (no logout form).
  if (!home.body.includes('action="/logout"')) return { status: 0, readStatus: -1, cookie };
  const form = readForm(home.body, 'form[action="/logout"]');
  const out = await user.ua.http.post(`${base(i)}/logout`, { form: form.fields, headers: { origin: stack.appUrl } });
  return { status: out.statusCode, cookie };
}

/** Reads, logins and logouts until `stop()`; every answer recorded. */
function startLoad() {
  const samples: Sample[] = [];
  let running = true;
  const record = (kind: Sample['kind'], start: number, status: number, slot: number) => samples.push({ kind, start, end: Date.now(), status, slot });
  const readers = Array.from({ length: 6 }, async (_, w) => {
    for (let i = w; running; i++) {
      const user = live[Math.floor(Math.random() * live.length)]!;
      const start = Date.now();
      const answer = await user.ua.http.get(`${base(i)}/api/session`, { headers: { 'x-csrf': '1', accept: 'application/json' } });
      record('read', start, answer.statusCode, user.account.slot);
      await sleep(2);
    }
  });
  // A load balancer's readiness probe: one shard failing over must not take the instances out.
  const prober = (async () => {
    for (let i = 0; running; i++) {
      const start = Date.now();
      const answer = await got.get(`${base(i)}/readyz`, { throwHttpErrors: false, retry: { limit: 0 } });
      record('ready', start, answer.statusCode, -1);
      await sleep(100);
    }
  })();
  const loginWorker = (async () => {
    for (let i = 0; running; i++) {
      const account = accounts[Math.floor(Math.random() * accounts.length)]!;
      const ua = new UserAgent(stack.appUrl);
      const form = await ua.loginUntilCallback(account.username, account.password, '/');
      const start = Date.now();
      const callback = await ua.postCallback(form);
      record('login', start, callback.statusCode, account.slot);
      if (callback.statusCode === 303) live.push({ account, ua });
      await sleep(20);
    }
  })();
  const logoutWorker = (async () => {
    for (let i = 0; running; i++) {
      const user = pickLive();
      const start = Date.now();
      const out = await appLogout(user, i);
      if (out.readStatus !== undefined) {
        // The page did not load its session (its shard in failover): nothing changed, the session
        // stays live (the final check proves it).
        if (out.readStatus !== -1) record('read', start, out.readStatus, user.account.slot);
        live.push(user);
      } else {
        record('logout', start, out.status, user.account.slot);
        // Acknowledged: must stay ended. A 503: outcome unknown, checked neither way.
        if (isRedirect({ statusCode: out.status, headers: { location: '/' } } as never)) ended.push({ account: user.account, cookie: out.cookie });
      }
      await sleep(50);
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all([...readers, prober, loginWorker, logoutWorker]);
    },
  };
}

/** Polls (not asking `avoid`) until `port` is the primary serving `slot`; returns when it was seen. */
async function waitForPrimary(slot: number, port: number, avoid?: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const shards = await cluster.topology(avoid).catch(() => []);
    if (shards.some((s) => s.primary === port && s.slots.some(([a, b]) => slot >= a && slot <= b))) return Date.now();
    if (Date.now() > deadline) throw new Error(`port ${port} never became primary of slot ${slot}`);
    await sleep(50);
  }
}

/** Logs out some users of `shard` (app logout and back-channel by sub) before the failure: acknowledged, so ended for good. */
async function logoutsBefore(t: ExecutionContext, inShard: (slot: number) => boolean): Promise<void> {
  const victims = live.filter((u) => inShard(u.account.slot)).slice(0, 10);
  for (const [i, user] of victims.entries()) {
    live.splice(live.indexOf(user), 1);
    if (i % 2 === 0) {
      const out = await appLogout(user, i);
      t.is(out.status, 303, 'logout acknowledged');
      ended.push({ account: user.account, cookie: out.cookie });
    } else {
      const cookie = await user.ua.jar.getCookieString(stack.appUrl);
      // Every session of this user ends: also those the load logged in meanwhile.
      await idpSendsLogout(stack, user.account.claims.sub);
      for (const other of live.filter((u) => u.account === user.account)) live.splice(live.indexOf(other), 1);
      ended.push({ account: user.account, cookie });
    }
  }
}

/**
 * The assertions shared by both variants, on what the load saw. Reads need the shard's primary;
 * logins and logouts also a replica to confirm them (WAIT): after a failover that is the old
 * primary once it is back as a replica (`replicaBackAt`).
 */
function checkSamples(t: ExecutionContext, samples: Sample[], inShard: (slot: number) => boolean, at: { failed: number; promoted: number; rejoined?: number; replicaBack: number }): void {
  t.true(samples.length > 200, `a real load (${samples.length} requests)`);
  const unexpected = samples.filter((s) => ![200, 303, 503].includes(s.status));
  t.deepEqual(unexpected.slice(0, 5), [], 'only 200, 303 (login, logout) and 503 answers: no 500');
  const slow = samples.filter((s) => s.end - s.start > MAX_LATENCY_MS);
  t.deepEqual(slow.slice(0, 5), [], 'no request hangs');
  const unready = samples.filter((s) => s.kind === 'ready' && s.status !== 200);
  t.deepEqual(unready.slice(0, 5), [], '/readyz stays 200: the cluster as a whole is up');
  const unavailable = samples.filter((s) => s.status === 503);
  // Reads touch their user's slot only; logins and logouts also touch a claim or a sid index anywhere.
  const misplaced = unavailable.filter((s) => s.kind === 'read' && !inShard(s.slot));
  t.deepEqual(misplaced.slice(0, 5), [], 'a read 503 only for users of the failing shard');
  const recovered = (s: Sample) => (s.kind === 'read' ? at.promoted : Math.max(at.promoted, at.replicaBack)) + RECOVERY_MS;
  // The failed node coming back is a second, short disturbance of its shard (until the cluster
  // has told it it is a replica now, a slot map read from it still names it primary).
  const rejoining = (s: Sample) => at.rejoined !== undefined && s.end >= at.rejoined && s.start <= at.replicaBack + RECOVERY_MS;
  const late = unavailable.filter((s) => s.end < at.failed || (s.start > recovered(s) && !rejoining(s)));
  const relative = (list: Sample[]) => list.slice(0, 5).map((x) => `${x.kind} slot ${x.slot}: ${x.start - at.failed}..${x.end - at.failed} ms`);
  t.deepEqual(relative(late), [], `503 only from the failure until ${RECOVERY_MS} ms after the promotion (reads) or the replica's return (writes)`);
  const after = samples.filter((s) => s.start > Math.max(at.promoted, at.replicaBack) + RECOVERY_MS);
  t.true(after.length > 20 && after.every((s) => s.status !== 503), 'recovered by itself');
  t.log(`${samples.length} requests, ${unavailable.length} answered 503 (${unavailable.filter((s) => s.kind === 'read').length} reads, ${unavailable.filter((s) => s.start > recovered(s)).length} while the failed node rejoined); primary promoted ${at.promoted - at.failed} ms${at.rejoined ? `, failed node back ${at.rejoined - at.failed} ms` : ''} and a replica back ${at.replicaBack - at.failed} ms after the failure`);
}

/** Every acknowledged session works and every acknowledged logout holds, on both instances. */
async function checkOutcome(t: ExecutionContext): Promise<void> {
  const reads = await Promise.all(live.map(async (u, i) => ({ u, status: (await u.ua.http.get(`${base(i)}/api/session`, { headers: { 'x-csrf': '1', accept: 'application/json' } })).statusCode })));
  const lost = reads.filter((r) => r.status !== 200);
  t.deepEqual(lost.map((r) => `${r.u.account.username}: ${r.status}`), [], `all ${live.length} acknowledged sessions live`);
  const back = await Promise.all(ended.map(async (e, i) => ({ e, status: (await new UserAgent(stack.appUrl).http.get(`${base(i)}/api/session`, { headers: { 'x-csrf': '1', accept: 'application/json', cookie: e.cookie } })).statusCode })));
  t.deepEqual(back.filter((b) => b.status !== 401).map((b) => `${b.e.account.username}: ${b.status}`), [], `all ${ended.length} acknowledged logouts hold`);
}

it('a frozen primary (SIGSTOP): its replica takes over, nothing acknowledged is lost', async (t) => {
  t.timeout(120_000);
  const [shard] = await cluster.topology();
  const inShard = (slot: number) => shard!.slots.some(([a, b]) => slot >= a && slot <= b);
  await logoutsBefore(t, inShard);
  const load = startLoad();
  await sleep(1000);
  const failedAt = Date.now();
  cluster.node(shard!.primary).freeze();
  let promotedAt: number;
  let replicaBackAt: number;
  try {
    promotedAt = await waitForPrimary(shard!.slots[0]![0], shard!.replica!, shard!.primary);
    // Reads must be served by the new primary while the failed node is still down.
    await sleep(RECOVERY_MS + 1500);
  } finally {
    // The failed node comes back (as a supervisor restarts it) and rejoins as the new primary's
    // replica: until then its shard has no replica to confirm logins and logouts (503 by design).
    cluster.node(shard!.primary).thaw();
  }
  const rejoinedAt = Date.now();
  try {
    await cluster.waitHealthy();
    replicaBackAt = Date.now();
    await sleep(RECOVERY_MS + 1500);
  } finally {
    await load.stop();
  }
  checkSamples(t, load.samples, inShard, { failed: failedAt, promoted: promotedAt, rejoined: rejoinedAt, replicaBack: replicaBackAt });
  await checkOutcome(t);
});

it('CLUSTER FAILOVER from a replica: the hand-over costs no acknowledged login or logout', async (t) => {
  t.timeout(120_000);
  const shards = await cluster.topology();
  const shard = shards[1]!;
  const inShard = (slot: number) => shard.slots.some(([a, b]) => slot >= a && slot <= b);
  await logoutsBefore(t, inShard);
  const load = startLoad();
  await sleep(1000);
  const failedAt = Date.now();
  const replica = cluster.node(shard.replica!).admin();
  let promotedAt: number;
  let replicaBackAt: number;
  try {
    t.is(await replica.cluster('FAILOVER'), 'OK');
    promotedAt = await waitForPrimary(shard.slots[0]![0], shard.replica!);
    await cluster.waitHealthy();
    replicaBackAt = Date.now();
    await sleep(RECOVERY_MS + 2000);
  } finally {
    replica.disconnect();
    await load.stop();
  }
  checkSamples(t, load.samples, inShard, { failed: failedAt, promoted: promotedAt, replicaBack: replicaBackAt });
  await checkOutcome(t);
});
