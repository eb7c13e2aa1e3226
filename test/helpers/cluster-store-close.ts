/**
 * Run as a child process by redis-cluster-store.test.ts: opens a Redis Cluster store on
 * REDIS_CLUSTER_NODES, waits until the client starts reloading the slot map (every second; a
 * reload opens a connection of its own, so it ends after the QUITs of close() are answered), closes
 * the store right then, logs `{"event":"closed","duringReload":true}` and does nothing else: the
 * process must then exit by itself, which it only does when the closed store left no timer and no
 * connection behind (ioredis's own slotsRefreshInterval timer was re-armed by such a late reload).
 */
import { createRedisClusterStore, parseClusterNodes } from 'koa-oidc-bff/stores/redis-cluster';

const store = await createRedisClusterStore(parseClusterNodes(process.env.REDIS_CLUSTER_NODES ?? ''), { prefix: 'close:' });
// ioredis has no public signal for "a reload is under way": its own flag, read only to pick the moment.
const client = store.client as unknown as { isRefreshing?: boolean; status: string };
const deadline = Date.now() + 5000;
while (client.isRefreshing !== true && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
const duringReload = client.isRefreshing === true;
await store.close();
console.log(JSON.stringify({ event: 'closed', duringReload }));
