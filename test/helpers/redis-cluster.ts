/**
 * A throwaway Redis Cluster of the test's own: six `redis-server --cluster-enabled yes` on free
 * loopback ports (and free cluster-bus ports) in a temporary folder, formed by `redis-cli --cluster
 * create ... --cluster-replicas 1` into 3 primaries with one replica each, `cluster-node-timeout`
 * 1000 ms so a failed primary is replaced within about two seconds. Each node is a child process
 * of the test, so it can be frozen (SIGSTOP) and thawed; `stop()` kills them all and removes the folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

export interface ClusterNode {
  port: number;
  /** SIGSTOP: the node keeps its sockets but answers nothing (nor the cluster bus). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  /** A one-off admin connection to this node alone (close it with `disconnect()`). */
  admin(): Redis;
}

export interface TestCluster {
  nodes: ClusterNode[];
  /** `host:port,...` as REDIS_CLUSTER_NODES takes it. */
  spec: string;
  seeds: { host: string; port: number }[];
  /** Ports of the current primaries and their replica, from a node that answers (not `avoid`). */
  topology(avoid?: number): Promise<{ primary: number; replica: number | undefined; slots: [number, number][] }[]>;
  node(port: number): ClusterNode;
  /** Polls until every slot has a primary and every primary a connected replica, as every answering node sees it. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** True when redis-server and redis-cli are on the PATH. */
export function hasRedisCluster(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function adminClient(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, lazyConnect: false, connectTimeout: 500, commandTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: true });
}

async function ask<T>(port: number, command: (r: Redis) => Promise<T>): Promise<T> {
  const r = adminClient(port);
  r.on('error', () => undefined);
  try {
    return await command(r);
  } finally {
    r.disconnect();
  }
}

/**
 * Starts and forms the cluster; rejects (after cleaning up) when it does not become healthy in
 * 30 s, after a second attempt on other ports (a port found free can be taken by another process
 * before redis-server binds it).
 */
export async function startRedisCluster(): Promise<TestCluster> {
  try {
    return await startOnce();
  } catch {
    return startOnce();
  }
}

async function startOnce(): Promise<TestCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-redis-cluster-'));
  const children = new Map<number, ChildProcess>();
  const ports: number[] = [];
  const used = new Set<number>();
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  async function stop(): Promise<void> {
    await Promise.all([...children.values()].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    })));
    rmSync(dir, { recursive: true, force: true });
  }
  try {
    for (let i = 0; i < 6; i++) {
      const port = await pick();
      const bus = await pick();
      ports.push(port);
      const child = spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(bus),
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000', '--dir', dir,
        '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local',
        // The other shards keep serving while one has no primary (as recommended in the README).
        '--cluster-require-full-coverage', 'no',
      ], { stdio: 'ignore' });
      children.set(port, child);
    }
    for (const port of ports) {
      const deadline = Date.now() + 15_000;
      while ((await ask(port, (r) => r.ping()).catch(() => '')) !== 'PONG') {
        if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
        await sleep(50);
      }
    }
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }

  const nodes = ports.map((port): ClusterNode => ({
    port,
    freeze: () => void children.get(port)?.kill('SIGSTOP'),
    thaw: () => void children.get(port)?.kill('SIGCONT'),
    admin: () => {
      const r = adminClient(port);
      r.on('error', () => undefined);
      return r;
    },
  }));

  async function topology(avoid?: number) {
    for (const port of ports) {
      if (port === avoid) continue;
      const text = await ask(port, (r) => r.cluster('NODES') as Promise<string>).catch(() => undefined);
      if (!text) continue;
      const lines = text.trim().split('\n').map((line) => line.split(' '));
      const portOf = (addr: string) => Number(addr.split('@')[0]!.split(':')[1]);
      const primaries = lines.filter((f) => f[2]!.includes('master') && !f[2]!.includes('fail') && f.length > 8);
      return primaries.map((f) => {
        const replica = lines.find((r) => r[3] === f[0] && r[2]!.includes('slave') && !r[2]!.includes('fail'));
        const slots = f.slice(8).filter((s) => !s.startsWith('[')).map((s) => {
          const [a, b] = s.split('-').map(Number);
          return [a!, b ?? a!] as [number, number];
        });
        return { primary: portOf(f[1]!), replica: replica ? portOf(replica[1]!) : undefined, slots };
      });
    }
    throw new Error('no cluster node answers');
  }

  async function waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(ports.map((port) => ask(port, async (r) => {
        const info = await r.cluster('INFO') as string;
        const replication = await r.info('replication');
        return { ok: info.includes('cluster_state:ok'), role: /role:(\w+)/.exec(replication)?.[1], replicas: Number(/connected_slaves:(\d+)/.exec(replication)?.[1] ?? 0), linkUp: replication.includes('master_link_status:up') };
      }).catch(() => undefined)));
      const answering = states.filter((s) => s !== undefined);
      const healthy = answering.length === ports.length && answering.every((s) => s.ok)
        && answering.filter((s) => s.role === 'master' && s.replicas >= 1).length === 3
        && answering.filter((s) => s.role === 'slave' && s.linkUp).length === 3;
      if (healthy) return;
      if (Date.now() > deadline) throw new Error(`cluster not healthy after ${timeoutMs} ms: ${JSON.stringify(states)}`);
      await sleep(100);
    }
  }

  try {
    await waitHealthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    spec: ports.map((p) => `127.0.0.1:${p}`).join(','),
    seeds: ports.map((port) => ({ host: '127.0.0.1', port })),
    topology,
    node: (port) => nodes.find((n) => n.port === port)!,
    waitHealthy,
    stop,
  };
}

/**
 * Test accounts whose sessions land on each primary: `perPrimary` users per primary, found by
 * asking the cluster for the slot of each candidate's tag (`userTag(sub)`).
 */
export interface ClusterAccount {
  username: string;
  password: string;
  claims: { sub: string; name: string; email: string };
  /** The hash slot of the user's sessions. */
  slot: number;
  /** The port of the primary that served that slot when the account was made. */
  primary: number;
}

export async function accountsOnEveryPrimary(cluster: TestCluster, tagOf: (sub: string) => string, perPrimary: number, name = 'user'): Promise<ClusterAccount[]> {
  const shards = await cluster.topology();
  const admin = cluster.nodes[0]!.admin();
  try {
    const chosen: ClusterAccount[] = [];
    const count = new Map<number, number>();
    for (let i = 0; chosen.length < perPrimary * shards.length && i < 10_000; i++) {
      const username = `${name}${i}`;
      const sub = `sub-${username}`;
      const slot = Number(await admin.cluster('KEYSLOT', `{${tagOf(sub)}}`));
      const shard = shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!;
      if ((count.get(shard.primary) ?? 0) >= perPrimary) continue;
      count.set(shard.primary, (count.get(shard.primary) ?? 0) + 1);
      chosen.push({ username, password: `${username}-password`, claims: { sub, name: `User ${username}`, email: `${username}@example.test` }, slot, primary: shard.primary });
    }
    return chosen;
  } finally {
    admin.disconnect();
  }
}
