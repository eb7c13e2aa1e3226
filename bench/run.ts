/**
 * `npm run bench [-- --quick] [-- --stores=memory,sqlite] [-- --profile]`: measures the
 * authenticated request path, the bytes on the wire, the login round trip, the session stores at
 * scale and memory, for each store; prints one table and writes the same figures as JSON to
 * bench/results/. See the README's "Performance" section.
 *
 * The reference: a bare Koa 3 server with the same two routes (bench/bare-koa.ts), started like
 * the app servers and pinned to the same core; every throughput is printed as a ratio to it.
 *
 * Per store: a server process (bench/server.ts: dev-idp + app, pinned to CPU 0) is started; real
 * sessions are created through the real login flow; the store is filled with synthetic copies of
 * a real session up to the small size; autocannon (bench/load-worker.ts, its own process on the
 * other CPU) measures bare Koa's /healthz and /api/hello, the app's /healthz and authenticated
 * /api/hello (JSON and htmx), interleaved in one load plan, one server at a time, then /api/hello of
 * both at 50 connections for the p99 comparison; then the hot record's size, memory, and the large size.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LoginFigures, RunFigures, ScalePoint, StoreFigures, TelemetryFigures, ThroughputFigures, WireFigures } from './figures.ts';
import { TARGETS } from './figures.ts';
import type { LoadPlan, LoadResult, LoadTarget } from './load-worker.ts';
import { ACCOUNTS, concurrentLogins, loginMany, loginOnce, sequentialLogins, type Login } from './logins.ts';
import { choosePlacement, ROOT, runLoad, ServerProcess, type Placement } from './processes.ts';
import type { FillResult, HotRecordResult, LookupResult, MemoryResult, StoreName } from './protocol.ts';
import { checkScratchDb, DEFAULT_BENCH_REDIS_URL, emptyScratchDb } from './redis-scratch.ts';
import { renderReport } from './report.ts';
import { startOtlpSink, type OtlpSink } from './otlp-sink.ts';
import { hasRedisCluster, startRedisCluster, type TestCluster } from '../test/helpers/redis-cluster.ts';
import { round } from './stats.ts';
import { checkTargets } from './targets.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    stores: { type: 'string', default: 'sqlite,redis,redis-cluster,memory' },
    profile: { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    large: { type: 'string' },
  },
});
const quick = args.quick;
const stores = args.stores.split(',').map((s) => s.trim()) as StoreName[];
for (const s of stores) if (!['sqlite', 'redis', 'redis-cluster', 'memory'].includes(s)) throw new Error(`unknown store ${s}`);
const redisUrl = args['redis-url'] ?? process.env.BENCH_REDIS_URL ?? DEFAULT_BENCH_REDIS_URL;

const S = {
  connections: 32,
  /** Connections of the p99 comparison with bare Koa. */
  p99Connections: TARGETS.p99Connections,
  warmupSeconds: quick ? 1 : 3,
  seconds: quick ? 2 : 10,
  rounds: quick ? 1 : 2,
  /** Idle time before each load run (the servers share one core: the last one's after-load work stays out of the next run). */
  settleMs: 300,
  sessions: 100,
  smallSize: 1000,
  largeSize: Number(args.large ?? (quick ? 50_000 : 1_000_000)),
  /** Runs of the four telemetry loads (JSON, htmx; without, with the SDK), and seconds per load. */
  telemetryPairs: quick ? 3 : 5,
  telemetrySeconds: quick ? 2 : 5,
  /** Authenticated throughput at the large size too (not in --quick). */
  largeThroughput: !quick,
  lookups: quick ? 5000 : 10_000,
  loginWarmup: 5,
  sequentialLogins: 50,
  concurrentUsers: 10,
  concurrentSeconds: quick ? 2 : 5,
  memorySessions: 10_000,
};
const SCALE_STORES: StoreName[] = ['sqlite', 'redis', 'redis-cluster'];
/** The benchmark's own Redis Cluster (3 primaries, 3 replicas on loopback), started for the redis-cluster store. */
const clusters = new Map<ServerProcess, TestCluster>();
/** An authenticated API call asking for JSON (the CSRF header the app requires of /api/* calls that are not htmx). */
const JSON_HEADERS = { 'x-csrf': '1', accept: 'application/json' };
/** An htmx call: the app answers with the HTML fragment. */
const HTMX_HEADERS = { 'hx-request': 'true' };

/** Rejects when `promise` takes longer than `ms`: every phase is bounded. */
function bounded<T>(label: string, ms: number, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no result within ${ms / 1000} s`)), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}

const t0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);

async function measureLogins(appUrl: string): Promise<{ figures: LoginFigures; logins: Login[] }> {
  for (let i = 0; i < S.loginWarmup; i++) await loginOnce(appUrl, i);
  const seq = await bounded('sequential logins', 120_000, sequentialLogins(appUrl, S.sequentialLogins));
  const conc = await bounded('concurrent logins', S.concurrentSeconds * 1000 + 60_000, concurrentLogins(appUrl, S.concurrentUsers, S.concurrentSeconds));
  return {
    figures: {
      warmup: S.loginWarmup,
      sequential: { count: S.sequentialLogins, medianMs: round(seq.medianMs), p95Ms: round(seq.p95Ms) },
      concurrent: { users: S.concurrentUsers, seconds: S.concurrentSeconds, logins: conc.logins.length, perSecond: round(conc.perSecond) },
    },
    logins: [...seq.logins, ...conc.logins],
  };
}

/**
 * The Cookie header of an authenticated API call and the Set-Cookie lines of its responses (one
 * JSON, one htmx). Also checks that each kind of call gets its kind of answer, so the load below
 * measures what it says.
 */
async function measureWire(login: Login): Promise<WireFigures> {
  const get = (headers: Record<string, string>) => login.agent.http.get(login.agent.url('/api/hello'), { headers });
  for (const [kind, headers, type] of [['JSON', JSON_HEADERS, 'application/json'], ['htmx', HTMX_HEADERS, 'text/html']] as const) {
    const first = await get(headers);
    const contentType = first.headers['content-type'] ?? '';
    if (first.statusCode !== 200 || !contentType.startsWith(type)) throw new Error(`/api/hello (${kind}) answered ${first.statusCode} ${contentType}, not 200 ${type}`);
  }
  // Ordinary calls: not the first after login.
  const setCookie = [await get(JSON_HEADERS), await get(HTMX_HEADERS)].flatMap((r) => r.headers['set-cookie'] ?? []);
  return {
    cookieHeaderBytes: Buffer.byteLength(`Cookie: ${login.cookie}\r\n`),
    cookieValueBytes: Buffer.byteLength(login.cookie),
    cookieValueBytesHttps: Buffer.byteLength(login.cookie.replace(/(^|; )bff\.sid/g, '$1__Host-Http-bff.sid')),
    setCookieBytes: setCookie.reduce((n, v) => n + Buffer.byteLength(`Set-Cookie: ${v}\r\n`), 0),
    setCookieHeaders: setCookie.length,
  };
}

function loadPlan(server: ServerProcess, targets: LoadTarget[], rounds = S.rounds): LoadPlan {
  return { url: server.ready.appUrl, serverPid: server.ready.pid, connections: S.connections, warmupSeconds: S.warmupSeconds, seconds: S.seconds, rounds, settleMs: S.settleMs, targets };
}

/** Runs `plan` and returns its results by target name; throws when any target had errors or non-2xx answers. */
async function runChecked(plan: LoadPlan, placement: Placement): Promise<Map<string, LoadResult>> {
  const results = await runLoad(plan, placement);
  for (const r of results) {
    if (r.requests === 0 || r.non2xx > 0 || r.errors > 0) throw new Error(`load on ${r.name}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors`);
  }
  return new Map(results.map((r) => [r.name, r]));
}

function pick(results: Map<string, LoadResult>, name: string): LoadResult {
  const r = results.get(name);
  if (!r) throw new Error(`load: no result for ${name}`);
  return r;
}

/**
 * The load targets of one store: bare Koa's and the app's endpoints, interleaved so each app
 * figure has its bare Koa figure measured right next to it (one server under load at a time).
 * Bare Koa's /api/hello gets the same request as the authenticated JSON call (cookie and headers,
 * which it ignores), so only the servers' work differs. The 50-connection runs follow; they need
 * no warm-up of their own (the same server and path were just warmed up).
 * @param full false: only what the large-size run reports (bare /api/hello, app /healthz and /api/hello).
 */
function storeTargets(bare: ServerProcess, cookies: string[], full = true): LoadTarget[] {
  const b = { url: bare.ready.appUrl, serverPid: bare.ready.pid };
  const json: LoadTarget = { name: 'hello-json', path: '/api/hello', headers: JSON_HEADERS, cookies };
  const htmx: LoadTarget = { name: 'hello-htmx', path: '/api/hello', headers: HTMX_HEADERS, cookies };
  const bareHello: LoadTarget = { ...json, ...b, name: 'bare-hello' };
  const at50 = { connections: S.p99Connections, warmup: false };
  if (!full) return [bareHello, { name: 'healthz', path: '/healthz' }, json, htmx];
  return [
    { name: 'bare-healthz', path: '/healthz', ...b },
    { name: 'healthz', path: '/healthz' },
    bareHello,
    json,
    htmx,
    { ...bareHello, ...at50, name: 'bare-hello-50' },
    { ...json, ...at50, name: 'hello-json-50' },
    { ...htmx, ...at50, name: 'hello-htmx-50' },
  ];
}

const cpuRatio = (a: LoadResult, b: LoadResult) => (a.serverCpuUsPerRequest && b.serverCpuUsPerRequest ? round(a.serverCpuUsPerRequest / b.serverCpuUsPerRequest, 3) : undefined);

/** Starts the server for `store` (after checking the Redis scratch database); resolves to it or to why not. */
async function startServer(store: StoreName, placement: Placement, otlpUrl?: string): Promise<ServerProcess | string> {
  if (store === 'redis') {
    const problem = await checkScratchDb(redisUrl);
    if (problem) return problem;
  }
  let cluster: TestCluster | undefined;
  if (store === 'redis-cluster') {
    if (!hasRedisCluster()) return 'redis-server and redis-cli are not installed';
    try {
      cluster = await startRedisCluster();
    } catch (err) {
      return `failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  try {
    const server = await ServerProcess.start(store, placement, { ...(store === 'redis' ? { redisUrl } : cluster ? { redisUrl: cluster.spec } : {}), ...(otlpUrl ? { otlpUrl } : {}) });
    if (cluster) clusters.set(server, cluster);
    return server;
  } catch (err) {
    await cluster?.stop();
    return `failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function benchStore(store: StoreName, started: ServerProcess | string, bare: ServerProcess, placement: Placement, profileDir: string | undefined, measureLoginTimes: boolean, otel?: { server: ServerProcess; sink: OtlpSink }): Promise<StoreFigures> {
  if (typeof started === 'string') return { store, skipped: started };
  const server = started;
  const figures: StoreFigures = { store, storeKind: server.ready.storeKind };
  try {
    if (server.ready.storeKind !== store) {
      return { store, skipped: `createStore(config) does not provide '${store}' on this branch yet (it returned '${server.ready.storeKind}')` };
    }
    const { appUrl } = server.ready;
    let logins: Login[] = [];
    if (measureLoginTimes) {
      log(`${store}: login round trip (${S.sequentialLogins} sequential, ${S.concurrentUsers} users for ${S.concurrentSeconds} s)`);
      const measured = await measureLogins(appUrl);
      figures.login = measured.figures;
      logins = measured.logins;
    }
    if (logins.length < S.sessions) logins.push(...(await bounded('logins', 180_000, loginMany(appUrl, S.sessions - logins.length, S.concurrentUsers))));
    const realSessions = logins.length + (measureLoginTimes ? S.loginWarmup : 0);
    const sessions = logins.slice(0, S.sessions);
    if (new Set(sessions.map((l) => l.cookie)).size !== S.sessions) throw new Error('session cookies are not distinct');

    figures.wire = await measureWire(sessions[0]!);
    // The newest real login of the first account: created by the real login flow above.
    figures.hotRecord = await server.request<HotRecordResult>({ cmd: 'hot-record', sub: ACCOUNTS[0].sub }, 10_000);

    const templateSub = ACCOUNTS[0].sub;
    let synthetic = Math.max(0, S.smallSize - realSessions);
    await server.request<FillResult>({ cmd: 'fill', templateSub, from: 0, to: synthetic }, 120_000);

    log(`${store}: throughput: bare Koa and app /healthz, /api/hello (JSON, htmx) with ${S.sessions} sessions (${S.smallSize} stored), then /api/hello at ${S.p99Connections} connections`);
    const cookies = sessions.map((l) => l.cookie);
    let otelCookies: string[] | undefined;
    if (otel) {
      log(`${store}: ${S.sessions} logins on the server with OpenTelemetry`);
      otelCookies = (await bounded('logins (OpenTelemetry)', 180_000, loginMany(otel.server.ready.appUrl, S.sessions, S.concurrentUsers))).map((l) => l.cookie);
    }
    const results = await runChecked(loadPlan(server, storeTargets(bare, cookies, true)), placement);
    const r = (name: string) => pick(results, name);
    const bareFigures = { healthz: r('bare-healthz'), hello: r('bare-hello'), hello50: r('bare-hello-50') };
    const healthz = r('healthz');
    const helloJson = r('hello-json');
    const helloHtmx = r('hello-htmx');
    const throughput: ThroughputFigures = {
      bare: bareFigures, healthz, helloJson, helloHtmx, helloJson50: r('hello-json-50'), helloHtmx50: r('hello-htmx-50'),
      vsBare: {
        healthz: round(healthz.rps / bareFigures.healthz.rps, 3),
        helloJson: round(helloJson.rps / bareFigures.hello.rps, 3),
        helloHtmx: round(helloHtmx.rps / bareFigures.hello.rps, 3),
      },
      p99VsBare: {
        helloJson: round(r('hello-json-50').p99Ms / bareFigures.hello50.p99Ms, 3),
        helloHtmx: round(r('hello-htmx-50').p99Ms / bareFigures.hello50.p99Ms, 3),
      },
      ratio: { json: round(helloJson.rps / healthz.rps, 3), htmx: round(helloHtmx.rps / healthz.rps, 3) },
      cpuRatio: { json: cpuRatio(healthz, helloJson), htmx: cpuRatio(healthz, helloHtmx) },
      sessions: S.sessions, storedSessions: S.smallSize,
    };
    figures.throughput = throughput;
    if (otel && otelCookies) figures.telemetry = await telemetryCost(server, otel.server, cookies, otelCookies, placement, otel.sink);
    if (profileDir) {
      figures.profiles = await profileLoad(server, storeTargets(bare, cookies, false).slice(1), placement, profileDir, store);
      // The server with OpenTelemetry too: its profile beside the JSON call's shows what telemetry costs.
      if (otel && otelCookies) figures.profiles.push(...await profileLoad(otel.server, [{ name: 'hello-json-otel', path: '/api/hello', headers: JSON_HEADERS, cookies: otelCookies }], placement, profileDir, store));
    }

    const lookupsAt = (population: number) => server.request<LookupResult>({ cmd: 'lookups', population, count: S.lookups, warmup: 1000 }, 120_000);
    const small: ScalePoint = {
      storedSessions: S.smallSize, lookup: await lookupsAt(synthetic), helloRps: helloHtmx.rps, helloP99Ms: helloHtmx.p99Ms, helloJsonRps: helloJson.rps,
      healthzRps: healthz.rps, bareHelloRps: bareFigures.hello.rps, helloCpuUs: helloHtmx.serverCpuUsPerRequest,
    };
    figures.scale = { small };

    log(`${store}: memory with ${S.memorySessions} more sessions`);
    const memory = await server.request<MemoryResult>({ cmd: 'memory', templateSub, from: synthetic, count: S.memorySessions }, 300_000);
    synthetic += S.memorySessions;
    figures.memory = {
      ...memory,
      heapPerSessionBytes: Math.round((memory.heapAfter - memory.heapBefore) / memory.created),
      rssPerSessionBytes: Math.round((memory.rssAfter - memory.rssBefore) / memory.created),
      rssPer10kBytes: Math.round(((memory.rssAfter - memory.rssBefore) / memory.created) * 10_000),
      how: `${memory.created.toLocaleString('en-US')} copies of a real login's session (hot record and its ${memory.tokenRecordBytes.toLocaleString('en-US')}-byte token record) created with store.create in the server process (${Math.round(memory.fillMs)} ms); RSS and heap of the app's process (the dev-idp runs in its own), after a full GC, with ${S.smallSize} sessions stored before`,
    };

    if (SCALE_STORES.includes(store)) {
      const to = S.largeSize - realSessions;
      log(`${store}: filling to ${S.largeSize.toLocaleString('en-US')} sessions`);
      const fill = await server.request<FillResult>({ cmd: 'fill', templateSub, from: synthetic, to, bulk: true }, 60_000 + (to - synthetic) * 2);
      log(`${store}: ${Math.round(fill.ms / 1000)} s (${fill.method})`);
      synthetic = to;
      const lookup = await lookupsAt(synthetic);
      let large: ScalePoint = { storedSessions: S.largeSize, lookup, helloRps: undefined, helloP99Ms: undefined, helloJsonRps: undefined, healthzRps: undefined, bareHelloRps: undefined, helloCpuUs: undefined };
      if (S.largeThroughput) {
        await server.request({ cmd: 'gc' }, 30_000);
        log(`${store}: throughput: bare Koa /api/hello, app /healthz and /api/hello at ${S.largeSize.toLocaleString('en-US')} sessions`);
        const atLarge = await runChecked(loadPlan(server, storeTargets(bare, cookies, false)), placement);
        const hello = pick(atLarge, 'hello-htmx');
        large = {
          ...large, helloRps: hello.rps, helloP99Ms: hello.p99Ms, helloJsonRps: pick(atLarge, 'hello-json').rps, healthzRps: pick(atLarge, 'healthz').rps,
          bareHelloRps: pick(atLarge, 'bare-hello').rps, helloCpuUs: hello.serverCpuUsPerRequest,
        };
      }
      figures.scale = {
        small, large, fillMs: Math.round(fill.ms), fillMethod: fill.method,
        p99Ratio: round(lookup.p99Us / small.lookup.p99Us, 3),
        ...(large.helloRps !== undefined && small.helloRps !== undefined ? { rpsRatio: round(large.helloRps / small.helloRps, 3) } : {}),
        ...(small.helloCpuUs && large.helloCpuUs ? { cpuRatio: round(small.helloCpuUs / large.helloCpuUs, 3) } : {}),
      };
    }
    return figures;
  } catch (err) {
    log(`${store}: FAILED: ${err instanceof Error ? err.stack : String(err)}`);
    return { ...figures, skipped: `failed: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` };
  } finally {
    await server.close();
    if (store === 'redis') log(`redis: removed ${await emptyScratchDb(redisUrl)} benchmark keys from ${redisUrl}`);
    await clusters.get(server)?.stop();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The cost of OpenTelemetry on the authenticated calls: `S.telemetryPairs` runs of the same four
 * loads (JSON and htmx, without and with the SDK), each run in the opposite order of the one
 * before (so neither server is always measured first), after one warm-up of all four; the cost is
 * the median over the runs of each run's own ratio. One run alone moved by tens of percent on this
 * 2-core machine (the load generator shares it). Then as many runs with both servers loaded at
 * the same time (JSON on both, then htmx on both; they share one pinned core), compared by server
 * CPU time per request (all threads, /proc): the figure the target is checked on, as the req/s a
 * CPU-bound server loses, 1 - 1 / (1 + CPU cost). Two servers without an SDK measured this way
 * differed by -6 % to +8 % per run (median -0.4 %); one after the other, by -18 % to +15 %.
 * No heap is collected between loads: a forced full GC shrinks the young generation, and the next
 * load then paid for regrowing it, more on the server that allocates more.
 */
async function telemetryCost(plain: ServerProcess, withSdk: ServerProcess, cookies: string[], otelCookies: string[], placement: Placement, sink: OtlpSink): Promise<TelemetryFigures> {
  const p = { url: plain.ready.appUrl, serverPid: plain.ready.pid, cookies };
  const o = { url: withSdk.ready.appUrl, serverPid: withSdk.ready.pid, cookies: otelCookies };
  const targets: LoadTarget[] = [
    { ...p, name: 'json', path: '/api/hello', headers: JSON_HEADERS },
    { ...o, name: 'json-otel', path: '/api/hello', headers: JSON_HEADERS },
    { ...o, name: 'htmx-otel', path: '/api/hello', headers: HTMX_HEADERS },
    { ...p, name: 'htmx', path: '/api/hello', headers: HTMX_HEADERS },
  ];
  log(`telemetry cost: ${S.telemetryPairs} runs of JSON and htmx without and with OpenTelemetry, ${S.telemetrySeconds} s each`);
  // Warm both servers on both calls (JIT) before any measured load.
  await runChecked({ ...loadPlan(plain, targets, 0), warmupSeconds: S.warmupSeconds }, placement);
  const runs: Map<string, LoadResult>[] = [];
  for (let i = 0; i < S.telemetryPairs; i++) {
    const order = i % 2 === 0 ? targets : [...targets].reverse();
    const run = new Map<string, LoadResult>();
    for (const target of order) {
      const [name, result] = [...await runChecked({ ...loadPlan(plain, [target], 1), seconds: S.telemetrySeconds, warmupSeconds: 0 }, placement)][0]!;
      run.set(name, result);
    }
    runs.push(run);
  }
  // Both servers loaded at the same time, on their shared core: a slower machine (another
  // tenant, a lower clock) slows both alike within a run, where the runs above, one server after
  // the other, each took what the machine gave at its own moment.
  log(`telemetry cost: ${S.telemetryPairs} runs of both servers loaded at the same time, JSON then htmx, ${S.telemetrySeconds} s each`);
  const together: Map<string, LoadResult>[] = [];
  for (let i = 0; i < S.telemetryPairs; i++) {
    const run = new Map<string, LoadResult>();
    for (const kind of ['json', 'htmx']) {
      const pair = targets.filter((t) => t.name === kind || t.name === `${kind}-otel`);
      const plan = { ...loadPlan(plain, i % 2 === 0 ? pair : pair.reverse(), 1), seconds: S.telemetrySeconds, warmupSeconds: 0, together: true };
      for (const [name, result] of await runChecked(plan, placement)) run.set(name, result);
    }
    together.push(run);
  }
  const total = (name: string): LoadResult => {
    const all = runs.map((r) => pick(r, name));
    const requests = all.reduce((n, r) => n + r.requests, 0);
    const seconds = all.reduce((n, r) => n + r.seconds, 0);
    const cpu = all.every((r) => r.serverCpuUsPerRequest !== undefined) ? all.reduce((n, r) => n + r.serverCpuUsPerRequest! * r.requests, 0) / requests : undefined;
    return { ...all[0]!, name: `hello-${name}`, requests, seconds, rps: requests / seconds, p50Ms: median(all.map((r) => r.p50Ms)), p99Ms: median(all.map((r) => r.p99Ms)), serverCpuUsPerRequest: cpu };
  };
  const rpsCost = (kind: string, of = runs) => round(median(of.map((r) => 1 - pick(r, `${kind}-otel`).rps / pick(r, kind).rps)), 3);
  /** The req/s a CPU-bound server loses when each request takes `cost` more CPU: 1 - 1 / (1 + cost). */
  const throughputCost = (cost: number | undefined) => (cost === undefined ? undefined : round(1 - 1 / (1 + cost), 3));
  const cpuCostEach = (of: Map<string, LoadResult>[], kind: string) => of.map((r) => {
    const [on, off] = [pick(r, `${kind}-otel`).serverCpuUsPerRequest, pick(r, kind).serverCpuUsPerRequest];
    return on && off ? round(on / off - 1, 3) : undefined;
  });
  const cpuCost = (kind: string, of = runs) => {
    const ratios = cpuCostEach(of, kind);
    return ratios.every((x) => x !== undefined) ? round(median(ratios as number[]), 3) : undefined;
  };
  return {
    sampler: 'parentbased_traceidratio 0.01; Prometheus endpoint (not scraped during the load) and OTLP/HTTP metrics every 60 s',
    runs: S.telemetryPairs,
    helloJson: total('json-otel'),
    helloHtmx: total('htmx-otel'),
    withoutJson: total('json'),
    withoutHtmx: total('htmx'),
    rpsCost: { json: rpsCost('json'), htmx: rpsCost('htmx') },
    rpsCostEach: { json: runs.map((r) => round(1 - pick(r, 'json-otel').rps / pick(r, 'json').rps, 3)), htmx: runs.map((r) => round(1 - pick(r, 'htmx-otel').rps / pick(r, 'htmx').rps, 3)) },
    cpuCost: { json: cpuCost('json'), htmx: cpuCost('htmx') },
    together: {
      cpuCost: { json: cpuCost('json', together), htmx: cpuCost('htmx', together) },
      cpuCostEach: { json: cpuCostEach(together, 'json'), htmx: cpuCostEach(together, 'htmx') },
      throughputCost: { json: throughputCost(cpuCost('json', together)), htmx: throughputCost(cpuCost('htmx', together)) },
      rpsCost: { json: rpsCost('json', together), htmx: rpsCost('htmx', together) },
    },
    otlpRequests: sink.requests,
  };
}

/**
 * One CPU profile of the server per target, each covering exactly one measured load run (the
 * V8 profiler that node --cpu-prof uses, started and stopped over IPC). Returns the files.
 */
async function profileLoad(server: ServerProcess, targets: LoadTarget[], placement: Placement, dir: string, store: StoreName): Promise<string[]> {
  const files: string[] = [];
  for (const target of targets) {
    const file = path.join(dir, `${store}-${target.name}-${Date.now()}.cpuprofile`);
    await server.request({ cmd: 'profile-start' }, 10_000);
    const [result] = await runLoad({ ...loadPlan(server, [target], 1), warmupSeconds: 0 }, placement);
    await server.request({ cmd: 'profile-stop', file }, 60_000);
    log(`${store}: profile of ${target.name} at ${Math.round(result!.rps)} req/s: ${path.relative(ROOT, file)} (npx tsx bench/profile-summary.ts ${path.relative(ROOT, file)})`);
    files.push(path.relative(ROOT, file));
  }
  return files;
}

function git(...argv: string[]): string {
  try {
    return execFileSync('git', argv, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const placement = choosePlacement();
  const profileDir = args.profile ? path.join(ROOT, 'bench/results/profiles') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const run: RunFigures = {
    startedAt: new Date(started).toISOString(),
    quick,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: { nproc: placement.cores, cpuModel, node: process.version, platform: `${os.type()} ${os.release()}`, loadAverage: os.loadavg() },
    placement: placement.describe,
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? ' (with uncommitted changes)' : ''}`,
    settings: { connections: S.connections, p99Connections: S.p99Connections, warmupSeconds: S.warmupSeconds, seconds: S.seconds, rounds: S.rounds, settleMs: S.settleMs, sessions: S.sessions, smallSize: S.smallSize, largeSize: S.largeSize, largeThroughput: S.largeThroughput, lookups: S.lookups },
    bareKoa: { pid: 0, url: '' },
    stores: [],
    checks: [],
  };
  log(`cores: ${placement.describe}`);
  // All servers start at once, before any measurement: their start-up never overlaps a measured phase.
  log(`starting the bare Koa reference, dev-idp + app for ${stores.join(', ')}, and dev-idp + app with OpenTelemetry for ${stores[0]}`);
  const sink = await startOtlpSink();
  const [bare, otelServer, ...servers] = await Promise.all([
    ServerProcess.startBareKoa(placement).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    startServer(stores[0]!, placement, sink.url),
    ...stores.map((store) => startServer(store, placement)),
  ]);
  if (typeof otelServer === 'string') log(`the server with OpenTelemetry did not start: ${otelServer}`);
  if (bare instanceof Error) {
    for (const s of [otelServer, ...servers]) if (s instanceof ServerProcess) await s.close();
    await sink.close();
    throw new Error(`the bare Koa reference did not start: ${bare.message}`);
  }
  run.bareKoa = { pid: bare.ready.pid, url: bare.ready.appUrl };
  try {
    for (const [i, store] of stores.entries()) {
      // --quick: login round trip on the first store only (each store still gets its 100 real logins).
      const otel = i === 0 && otelServer instanceof ServerProcess ? { server: otelServer, sink } : undefined;
      run.stores.push(await benchStore(store, servers[i]!, bare, placement, profileDir, !quick || i === 0, otel));
      if (otel) await otel.server.close();
    }
  } finally {
    await bare.close();
    if (otelServer instanceof ServerProcess) await otelServer.close();
    await sink.close();
    // Clusters of servers that are gone (the OpenTelemetry server's own): their redis-server
    // children would keep this process alive.
    await Promise.all([...clusters.values()].map((cluster) => cluster.stop()));
  }
  run.machine.loadAverageEnd = os.loadavg();
  run.checks = checkTargets(run);
  const report = renderReport(run);
  process.stdout.write(`${report}\n`);
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${run.startedAt.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  const json = `${JSON.stringify(run, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  process.stdout.write(`\nfigures: ${path.relative(ROOT, file)} (also bench/results/latest.json); took ${Math.round((Date.now() - started) / 1000)} s\n`);
  if (run.stores.some((s) => s.skipped?.startsWith('failed'))) process.exitCode = 1;
}

await main();
