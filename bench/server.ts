/**
 * The benchmark's server process: the dev-idp and the app (test/helpers/stack.ts startStack) with
 * the session store named on the command line, opened through the app's own createStore(config).
 * Runs alone in its process so that bench/run.ts can pin it to its own core with taskset.
 *
 * Usage: node --import tsx --expose-gc bench/server.ts <sqlite|redis|memory> [redis-url]
 * Started by bench/run.ts with an IPC channel: it sends a {@link ReadyMessage}, then answers
 * {@link Command}s. The app logs one line per request at `info` like production, into /dev/null.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { createStore } from '../src/session/create-store.ts';
import type { SessionStore } from '../src/session/store.ts';
import { startStack, SESSION_SECRET } from '../test/helpers/stack.ts';
import type { Command, FillResult, LookupResult, MemoryResult, ReadyMessage, Reply, StoreName } from './protocol.ts';
import { percentile } from './stats.ts';
import { fillStore, syntheticId } from './synthetic-sessions.ts';

const storeName = process.argv[2] as StoreName;
const redisUrl = process.argv[3];
if (!['sqlite', 'redis', 'memory'].includes(storeName) || !process.send) {
  process.stderr.write('usage: started by bench/run.ts (IPC) with <sqlite|redis|memory> [redis-url]\n');
  process.exit(2);
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bff-bench-'));
const storeEnv: Record<string, string> = {
  SESSION_STORE: storeName,
  SESSION_SQLITE_PATH: path.join(dataDir, 'sessions.sqlite'),
  ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
};
// pino's own sync destination, as pino() uses for stdout in production; typed as a stream for createLogger.
const devNull = pino.destination({ dest: '/dev/null', sync: true }) as unknown as NodeJS.WritableStream;
const logger = createLogger({ level: 'info', destination: devNull });
const store = await createStore(loadConfig({ NODE_ENV: 'test', SESSION_SECRET, DATA_DIR: dataDir, ...storeEnv }), logger);
const stack = await startStack({ idpHost: '127.0.0.1', store, logger, env: { ...storeEnv, DATA_DIR: dataDir } });

const profiler = new Session();

send({ type: 'ready', appUrl: stack.appUrl, storeKind: store.kind, pid: process.pid } satisfies ReadyMessage);

process.on('message', (message: { id: number } & Command) => {
  handle(message).then(
    (result) => send({ type: 'reply', id: message.id, ok: true, result } satisfies Reply),
    (err: unknown) => send({ type: 'reply', id: message.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies Reply),
  );
});
// The driver died: do not linger holding ports, files or Redis connections.
process.on('disconnect', () => void shutdown());

async function handle(message: Command): Promise<unknown> {
  switch (message.cmd) {
    case 'fill':
      return { ms: await fillStore(store, await template(message.templateSub), message.from, message.to) } satisfies FillResult;
    case 'lookups':
      return lookups(store, message.population, message.count, message.warmup);
    case 'memory':
      return memory(message.templateSub, message.from, message.count);
    case 'profile-start':
      profiler.connect();
      await profiler.post('Profiler.enable');
      // 100 µs: ten times node --cpu-prof's default, for enough samples of a sub-millisecond request.
      await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
      await profiler.post('Profiler.start');
      return {};
    case 'profile-stop': {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      writeFileSync(message.file, JSON.stringify(profile));
      return {};
    }
    case 'close':
      setImmediate(() => void shutdown());
      return {};
  }
}

/** A live session of `sub` (from a real login) to copy. */
async function template(sub: string) {
  const [record] = await store.listBySub(sub, Date.now());
  if (!record) throw new Error(`no live session of ${sub} to use as a template: log in first`);
  return record;
}

/** Times store.get of random synthetic sessions, one after another, with process.hrtime. */
async function lookups(s: SessionStore, population: number, count: number, warmup: number): Promise<LookupResult> {
  const times = new Float64Array(count);
  for (let n = -warmup; n < count; n++) {
    const id = syntheticId(Math.floor(Math.random() * population));
    const now = Date.now();
    const start = process.hrtime.bigint();
    const record = await s.get(id, now);
    const ns = Number(process.hrtime.bigint() - start);
    if (!record) throw new Error(`synthetic session ${id} not found: the store lost it or it expired`);
    if (n >= 0) times[n] = ns / 1000;
  }
  let sum = 0;
  for (const t of times) sum += t;
  return { p50Us: percentile(times, 50), p99Us: percentile(times, 99), meanUs: sum / count, count };
}

/** RSS and heap (after a full GC) before and after creating `count` sessions through store.create. */
async function memory(sub: string, from: number, count: number): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = () => {
    gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapUsed };
  };
  const record = await template(sub);
  const before = sample();
  const fillMs = await fillStore(store, record, from, from + count);
  const after = sample();
  return { rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heap, heapAfter: after.heap, created: count, fillMs };
}

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  try {
    await stack.close();
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }
}

function send(message: ReadyMessage | Reply): void {
  process.send?.(message);
}
