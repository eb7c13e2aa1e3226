/**
 * Two app instances on one real Redis Cluster (3 primaries, 3 replicas), each with its own cluster
 * connection as two processes would have, one dev-idp: users whose sessions live on every primary
 * log in through one instance and use the other; back-channel logout by sid and by sub, "end all
 * other sessions" and the single-flight refresh work across them.
 */
import test from 'ava';
import { parse } from 'node-html-parser';
import { createRedisClusterStore, userTag, type RedisClusterSessionStore } from 'koa-oidc-bff/stores/redis-cluster';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { accountsOnEveryPrimary, hasRedisCluster, startRedisCluster, type TestCluster } from '../helpers/redis-cluster.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { idpSendsLogout, logoutAtIdp, sessionId, waitForExpiry } from '../helpers/tokens.ts';
import { readForm, UserAgent } from '../helpers/user-agent.ts';

const available = hasRedisCluster();
if (!available && process.env.CI) throw new Error('redis-server and redis-cli are required under CI');
const it = available ? test.serial : test.skip;

let cluster: TestCluster;
let stores: RedisClusterSessionStore[] = [];
let stack: Stack;
let second: Instance;
let accounts: Awaited<ReturnType<typeof accountsOnEveryPrimary>> = [];

test.before(async () => {
  if (!available) return;
  cluster = await startRedisCluster();
  accounts = await accountsOnEveryPrimary(cluster, userTag, 2);
  stores = await Promise.all([0, 1].map(() => createRedisClusterStore(cluster.seeds, { prefix: 'inst:', waitTimeoutMs: 1500 })));
  // Short access tokens: the refresh test waits for one to expire.
  stack = await startStack({ store: stores[0]!, accounts, api: true, ttl: { AccessToken: 6 }, env: { SESSION_STORE: 'redis-cluster', REDIS_CLUSTER_NODES: cluster.spec, TOKEN_REFRESH_SKEW: '1' } });
  second = await startInstance(stack, undefined, stores[1]!);
});
test.after.always(async () => {
  await second?.close();
  await stack?.close();
  await Promise.all(stores.map((s) => s.close()));
  await cluster?.stop();
});

const json = { 'x-csrf': '1', accept: 'application/json' };
const status = async (ua: UserAgent, base: string) => (await ua.http.get(`${base}/api/session`, { headers: json })).statusCode;
async function loggedIn(username: string, userAgent?: string): Promise<UserAgent> {
  const ua = new UserAgent(stack.appUrl, userAgent ? { 'user-agent': userAgent } : {});
  await ua.login(username, `${username}-password`, '/');
  return ua;
}

it('users on all three primaries log in through one instance and are served by the other', async (t) => {
  t.is(new Set(accounts.map((a) => a.primary)).size, 3, 'the accounts cover every primary');
  const browsers = await Promise.all(accounts.map((a) => loggedIn(a.username)));
  for (const [i, ua] of browsers.entries()) {
    const hello = await ua.http.get(`${second.url}/api/hello`, { headers: json });
    t.is(hello.statusCode, 200, accounts[i]!.username);
    t.regex(JSON.parse(hello.body).message, new RegExp(`User ${accounts[i]!.username}\\b`));
    t.is((await sessionId(ua)).slice(0, 3), userTag(accounts[i]!.claims.sub), 'the session id carries the user tag');
  }
});

it('back-channel logout by sid (the IdP\'s own logout page) and by sub ends the right sessions on both instances', async (t) => {
  // Two users on different primaries, two browsers each.
  const [x, y] = [accounts[0]!, accounts.find((a) => a.primary !== accounts[0]!.primary)!];
  const [x1, x2, y1, y2] = await Promise.all([loggedIn(x.username), loggedIn(x.username), loggedIn(y.username), loggedIn(y.username)]);
  // By sid: x logs out at the IdP in the first browser only; the IdP calls the first instance.
  await logoutAtIdp(stack, x1);
  t.deepEqual(await Promise.all([x1, x2, y1, y2].map((ua) => status(ua, second.url))), [401, 200, 200, 200]);
  // By sub: every session of y, wherever its sid index lives.
  await idpSendsLogout(stack, y.claims.sub);
  t.deepEqual(await Promise.all([x2, y1, y2].map((ua) => status(ua, second.url))), [200, 401, 401]);
  t.deepEqual(await Promise.all([x2, y1, y2].map((ua) => status(ua, stack.appUrl))), [200, 401, 401]);
});

it('"end all other sessions" on one instance ends them on the other at once', async (t) => {
  const user = accounts[3]!;
  const here = await loggedIn(user.username, 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36');
  const others = await Promise.all([loggedIn(user.username), loggedIn(user.username)]);
  const page = await here.http.get(`${second.url}/sessions`);
  // Three here, and the one of the first test.
  t.is(parse(page.body).querySelectorAll('#sessions tbody tr').length, 4, 'the other instance lists them all');
  const form = readForm(page.body, 'form.end-others');
  // One BASE_URL for both, as behind a load balancer: that is the origin the browser sends.
  const ended = await here.http.post(`${second.url}${form.action}`, { form: form.fields, headers: { origin: stack.appUrl } });
  t.is(ended.statusCode, 303);
  t.deepEqual(await Promise.all(others.map((ua) => status(ua, stack.appUrl))), [401, 401]);
  t.is(await status(here, stack.appUrl), 200, 'the current session lives on');
  const after = await here.http.get(`${stack.appUrl}/sessions`);
  t.is(parse(after.body).querySelectorAll('#sessions tbody tr').length, 1, 'only the current one is left');
});

it('ten concurrent calls spread over both instances refresh the access token once', async (t) => {
  const ua = await loggedIn(accounts[4]!.username);
  await waitForExpiry(stack, ua);
  const before = stack.idp.stats.refreshRequests;
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => {
    const base = i % 2 === 0 ? stack.appUrl : second.url;
    return ua.http.get(`${base}/api/remote/hello`, { headers: { 'hx-request': 'true', 'hx-current-url': `${stack.appUrl}/` } });
  }));
  t.deepEqual(answers.map((a) => a.statusCode), Array(10).fill(200));
  t.is(stack.idp.stats.refreshRequests - before, 1, 'one refresh across both instances');
});
