/**
 * The benchmark's server process: the app, built as src/main.ts builds it (loadConfig,
 * createStore, createApp, the HTTP timeouts of src/server.ts), with the session store named on
 * the command line, and the dev-idp in a child process of its own (bench/idp.ts). This process
 * holds only the app, as in production, and bench/run.ts pins it to its own core with taskset.
 *
 * Usage: node --import tsx --expose-gc bench/server.ts <sqlite|redis|redis-cluster|memory> <redis-url|cluster-nodes|-> <idp-cpus|-> <otlp-url|-> [metrics-only] [twin]
 * With an OTLP URL the app runs with the demo's OpenTelemetry SDK (src/telemetry.ts) started as in
 * production: Prometheus endpoint on a free port, traces sampled at 1 % (parentbased_traceidratio)
 * and metrics exported over OTLP/HTTP to that URL. With `metrics-only` as well, the SDK gets no
 * OTLP endpoint: the Prometheus endpoint alone, no tracer provider (a diagnostic's variant). With
 * `twin`, a second app without telemetry on the same store, for `in-process` calls only.
 * Started by bench/run.ts with an IPC channel: it sends a {@link ReadyMessage}, then answers
 * {@link Command}s. The app logs one line per request at `info` like production, into /dev/null.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { createStore } from '../src/session/create-store.ts';
import { startTelemetry } from '../src/telemetry.ts';
import type { SessionStore } from 'koa-oidc-bff';
import { BENCH_CLIENT, BENCH_SESSION_SECRET, type Command, type FillResult, type HotRecordResult, type LookupResult, type MemoryResult, type ReadyMessage, type Reply, type StoreName } from './protocol.ts';
import { bulkFill } from './bulk-fill.ts';
import { callInProcess, type InProcessResult } from './in-process.ts';
import { percentile } from './stats.ts';
import { fillStore, syntheticId, useTaggedIds, type SessionTemplate } from './synthetic-sessions.ts';
import { userTag } from 'koa-oidc-bff/stores/redis-cluster';

const storeName = process.argv[2] as StoreName;
const redisUrl = process.argv[3] && process.argv[3] !== '-' ? process.argv[3] : undefined;
const idpCpus = process.argv[4] && process.argv[4] !== '-' ? process.argv[4] : undefined;
const otlpUrl = process.argv[5] && process.argv[5] !== '-' ? process.argv[5] : undefined;
const flags = process.argv.slice(6);
const metricsOnly = flags.includes('metrics-only');
const twin = flags.includes('twin');
if (!['sqlite', 'redis', 'redis-cluster', 'memory'].includes(storeName) || !process.send) {
  process.stderr.write('usage: started by bench/run.ts (IPC) with <sqlite|redis|redis-cluster|memory> <redis-url|cluster-nodes|-> [idp-cpus|-] [otlp-url] [metrics-only] [twin]\n');
  process.exit(2);
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bff-bench-'));
const storeEnv: Record<string, string> = {
  SESSION_STORE: storeName,
  SESSION_SQLITE_PATH: path.join(dataDir, 'sessions.sqlite'),
  ...(redisUrl ? (storeName === 'redis-cluster' ? { REDIS_CLUSTER_NODES: redisUrl } : { REDIS_URL: redisUrl }) : {}),
};
// The destination src/log.ts uses for stdout in production (asynchronous, buffered), into /dev/null.
const devNull = pino.destination({ dest: '/dev/null', sync: false }) as unknown as NodeJS.WritableStream;
const logger = createLogger({ level: 'info', destination: devNull });
// Listen first: the app's URL (its port) goes into the IdP's client registration and the app's config.
const server = http.createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
const appUrl = `http://localhost:${port}`;
const idp = await startIdp(appUrl);
const config = loadConfig({
  // Production settings; the memory store is refused in production, so its run says `test` (which changes nothing on the measured path).
  NODE_ENV: storeName === 'memory' ? 'test' : 'production',
  // The bundled dev-idp on loopback http: admitted in production by its explicit override.
  ALLOW_INSECURE_DEV_ISSUER: 'true',
  // The login driver logs in hundreds of times from one address.
  LOGIN_RATE_LIMIT_PER_IP: '1000000',
  LOGIN_RATE_LIMIT_PER_INSTANCE: '1000000',
  PORT: String(port),
  BASE_URL: appUrl,
  ISSUER_BASE_URL: idp.issuer,
  CLIENT_ID: BENCH_CLIENT.clientId,
  CLIENT_SECRET: BENCH_CLIENT.clientSecret,
  SESSION_SECRET: BENCH_SESSION_SECRET,
  DATA_DIR: dataDir,
  ...storeEnv,
});
const store = await createStore(config, logger);
// With `twin`: a second app on the same store, created before the SDK starts, so it has no
// telemetry (the package reads the global providers when a BFF is created): `in-process` calls
// can then compare both apps in one process (bench/telemetry-in-process.ts).
const twinApp = twin ? createApp(config, { store, logger }) : undefined;
if (twinApp) await twinApp.bff.whenReady();
if (otlpUrl) {
  // The standard variables, as an operator would set them; read by the SDK itself.
  process.env.OTEL_TRACES_SAMPLER = 'parentbased_traceidratio';
  process.env.OTEL_TRACES_SAMPLER_ARG = '0.01';
  if (!metricsOnly) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlpUrl;
  await startTelemetry({ metricsPort: 0, metricsHost: '127.0.0.1', otlpEndpoint: metricsOnly ? undefined : new URL(otlpUrl), otlpTlsFiles: config.otlpTlsFiles });
}
if (store.kind === 'redis-cluster') useTaggedIds(userTag);
const app = createApp(config, { store, logger });
server.on('request', app.koa.callback());
// The slow-client bounds of src/server.ts listen().
server.requestTimeout = 30_000;
server.headersTimeout = 20_000;
server.keepAliveTimeout = 5_000;
await app.bff.whenReady();

const profiler = new Session();

send({ type: 'ready', appUrl, storeKind: store.kind, pid: process.pid } satisfies ReadyMessage);

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
    case 'fill': {
      const copied = await template(message.templateSub);
      if (message.bulk) return (await bulkFill(store, copied, message.from, message.to, { sqlitePath: config.sqlitePath, redisUrl: config.redisUrl, clusterNodes: config.redisClusterNodes })) satisfies FillResult;
      return { ms: await fillStore(store, copied, message.from, message.to), method: 'store.create, 100 at a time' } satisfies FillResult;
    }
    case 'lookups':
      return lookups(store, message.population, message.count, message.warmup);
    case 'memory':
      return memory(message.templateSub, message.from, message.count);
    case 'hot-record':
      return hotRecord(message.sub);
    case 'in-process':
      if (message.twin && !twinApp) throw new Error('in-process: this server was started without its twin app');
      return callInProcess(message.twin ? twinApp!.koa.callback() : app.koa.callback(), { host: `localhost:${port}`, cookie: message.cookie, calls: message.calls, concurrency: message.concurrency }) satisfies Promise<InProcessResult>;
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      return {};
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

/** The newest live session of `sub` (from a real login) to copy: its hot record through store.get, and its token record. */
async function template(sub: string): Promise<SessionTemplate> {
  const [listed] = await store.listBySub(sub, Date.now());
  if (!listed) throw new Error(`no live session of ${sub} to use as a template: log in first`);
  const record = await store.get(listed.id, Date.now());
  if (!record) throw new Error(`the session of ${sub} listed by listBySub is not found by store.get`);
  return { record, tokens: await store.getTokens(listed.id, Date.now()) };
}

/**
 * The hot record of the newest real login of `sub`: what `store.get` returns, which every
 * authenticated request reads: `JSON.stringify(record.data)` plus its metadata (the values of the
 * record's other fields, as text). The token record (`store.getTokens`) is reported apart.
 */
async function hotRecord(sub: string): Promise<HotRecordResult> {
  const { record, tokens } = await template(sub);
  const { data, ...metadata } = record;
  const fieldBytes: Record<string, number> = {};
  let metadataBytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) continue;
    fieldBytes[key] = Buffer.byteLength(String(value));
    metadataBytes += fieldBytes[key];
  }
  for (const [key, value] of Object.entries(data)) if (value !== undefined) fieldBytes[`data.${key}`] = Buffer.byteLength(JSON.stringify(value));
  const dataBytes = Buffer.byteLength(JSON.stringify(data));
  return {
    dataBytes, metadataBytes, totalBytes: dataBytes + metadataBytes, recordJsonBytes: Buffer.byteLength(JSON.stringify(record)),
    dataKeys: Object.keys(data), fieldBytes,
    userAgentBytes: Buffer.byteLength(record.userAgent),
    tokenRecordBytes: tokens ? Buffer.byteLength(JSON.stringify(tokens)) : 0,
  };
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

/** RSS and heap (after a full GC) before and after creating `count` sessions (with their token records) through store.create. */
async function memory(sub: string, from: number, count: number): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Full GCs until RSS settles (V8 gives freed pages back to the OS over several collections,
  // e.g. the garbage of a load run just before): otherwise RSS can shrink across the fill.
  const sample = async () => {
    let rss = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 10; i++) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = process.memoryUsage.rss();
      const settled = Math.abs(now - rss) < 256 * 1024;
      rss = now;
      if (settled) break;
    }
    return { rss, heap: process.memoryUsage().heapUsed };
  };
  const copied = await template(sub);
  const before = await sample();
  const fillMs = await fillStore(store, copied, from, from + count);
  const after = await sample();
  const tokenRecordBytes = copied.tokens ? Buffer.byteLength(JSON.stringify(copied.tokens)) : 0;
  return { rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heap, heapAfter: after.heap, created: count, fillMs, tokenRecordBytes };
}

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  try {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
    await store.close();
    idp.child.disconnect();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }
}

/** Starts bench/idp.ts (pinned to `idpCpus` when given) and waits for its issuer URL. */
async function startIdp(url: string) {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'idp.ts');
  const args = ['--import', 'tsx', '--conditions=koa-oidc-bff-source', script, url];
  const child = idpCpus
    ? spawn('taskset', ['-c', idpCpus, process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const issuer = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dev-idp not ready within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`dev-idp exited with ${code}`)));
    child.on('message', (m: { type: string; issuer: string }) => {
      if (m.type === 'idp-ready') { clearTimeout(timer); resolve(m.issuer); }
    });
  });
  return { child, issuer };
}

function send(message: ReadyMessage | Reply): void {
  process.send?.(message);
}
