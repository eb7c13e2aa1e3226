/**
 * `npm run bench [-- --quick] [-- --stores=memory,sqlite] [-- --profile]`: measures the
 * authenticated request path, the bytes on the wire, the login round trip, the session stores at
 * scale and memory, for each store; prints one table and writes the same figures as JSON to
 * bench/results/. See the README's "Performance" section.
 *
 * Per store: a server process (bench/server.ts: dev-idp + app, pinned to CPU 0) is started; real
 * sessions are created through the real login flow; the store is filled with synthetic copies of
 * a real session up to the small size; autocannon (bench/load-worker.ts, its own process on the
 * other CPU) measures /healthz and /api/hello; then memory, and the large size.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LoginFigures, RunFigures, ScalePoint, StoreFigures, ThroughputFigures, WireFigures } from './figures.ts';
import { TARGETS } from './figures.ts';
import type { LoadPlan, LoadTarget } from './load-worker.ts';
import { ACCOUNTS, concurrentLogins, loginMany, loginOnce, sequentialLogins, type Login } from './logins.ts';
import { choosePlacement, ROOT, runLoad, ServerProcess, type Placement } from './processes.ts';
import type { FillResult, LookupResult, MemoryResult, StoreName } from './protocol.ts';
import { checkScratchDb, DEFAULT_BENCH_REDIS_URL, emptyScratchDb } from './redis-scratch.ts';
import { renderReport } from './report.ts';
import { round } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    stores: { type: 'string', default: 'sqlite,redis,memory' },
    profile: { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    large: { type: 'string' },
  },
});
const quick = args.quick;
const stores = args.stores.split(',').map((s) => s.trim()) as StoreName[];
for (const s of stores) if (!['sqlite', 'redis', 'memory'].includes(s)) throw new Error(`unknown store ${s}`);
const redisUrl = args['redis-url'] ?? process.env.BENCH_REDIS_URL ?? DEFAULT_BENCH_REDIS_URL;

const S = {
  connections: 32,
  warmupSeconds: quick ? 1 : 3,
  seconds: quick ? 2 : 10,
  rounds: quick ? 1 : 2,
  sessions: 100,
  smallSize: 1000,
  largeSize: Number(args.large ?? (quick ? 50_000 : 1_000_000)),
  /** Authenticated throughput at the large size too (not in --quick). */
  largeThroughput: !quick,
  lookups: quick ? 5000 : 10_000,
  loginWarmup: 5,
  sequentialLogins: 50,
  concurrentUsers: 10,
  concurrentSeconds: quick ? 2 : 5,
  memorySessions: 10_000,
};
const SCALE_STORES: StoreName[] = ['sqlite', 'redis'];
const API_HEADERS = { 'hx-request': 'true' };

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

/** The Cookie header of an authenticated API call and the Set-Cookie lines of its response. */
async function measureWire(login: Login): Promise<WireFigures> {
  const first = await login.agent.hx('/api/hello', '/');
  if (first.statusCode !== 200) throw new Error(`/api/hello answered ${first.statusCode}`);
  // An ordinary call: not the first after login.
  const response = await login.agent.hx('/api/hello', '/');
  const setCookie = response.headers['set-cookie'] ?? [];
  return {
    cookieHeaderBytes: Buffer.byteLength(`Cookie: ${login.cookie}\r\n`),
    cookieValueBytes: Buffer.byteLength(login.cookie),
    cookieValueBytesHttps: Buffer.byteLength(login.cookie.replace(/(^|; )bff\.sid/g, '$1__Host-bff.sid')),
    setCookieBytes: setCookie.reduce((n, v) => n + Buffer.byteLength(`Set-Cookie: ${v}\r\n`), 0),
    setCookieHeaders: setCookie.length,
  };
}

function loadPlan(server: ServerProcess, targets: LoadTarget[], rounds = S.rounds): LoadPlan {
  return { url: server.ready.appUrl, serverPid: server.ready.pid, connections: S.connections, warmupSeconds: S.warmupSeconds, seconds: S.seconds, rounds, targets };
}

function checkLoad(results: { name: string; non2xx: number; errors: number; requests: number }[]): void {
  for (const r of results) {
    if (r.requests === 0 || r.non2xx > 0 || r.errors > 0) throw new Error(`load on ${r.name}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors`);
  }
}

/** Starts the server for `store` (after checking the Redis scratch database); resolves to it or to why not. */
async function startServer(store: StoreName, placement: Placement): Promise<ServerProcess | string> {
  if (store === 'redis') {
    const problem = await checkScratchDb(redisUrl);
    if (problem) return problem;
  }
  try {
    return await ServerProcess.start(store, placement, store === 'redis' ? { redisUrl } : {});
  } catch (err) {
    return `failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function benchStore(store: StoreName, started: ServerProcess | string, placement: Placement, profileDir: string | undefined, measureLoginTimes: boolean): Promise<StoreFigures> {
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

    const templateSub = ACCOUNTS[0].sub;
    let synthetic = Math.max(0, S.smallSize - realSessions);
    await server.request<FillResult>({ cmd: 'fill', templateSub, from: 0, to: synthetic }, 120_000);

    log(`${store}: throughput /healthz vs /api/hello with ${S.sessions} sessions (${S.smallSize} stored)`);
    const hello: LoadTarget = { name: 'hello', path: '/api/hello', headers: API_HEADERS, cookies: sessions.map((l) => l.cookie) };
    const [healthz, helloResult] = await runLoad(loadPlan(server, [{ name: 'healthz', path: '/healthz' }, hello]), placement);
    checkLoad([healthz!, helloResult!]);
    const throughput: ThroughputFigures = {
      hello: helloResult!, healthz: healthz!, ratio: round(helloResult!.rps / healthz!.rps, 3),
      cpuRatio: healthz!.serverCpuUsPerRequest && helloResult!.serverCpuUsPerRequest ? round(healthz!.serverCpuUsPerRequest / helloResult!.serverCpuUsPerRequest, 3) : undefined,
      target: TARGETS.ratio[store], sessions: S.sessions, storedSessions: S.smallSize,
    };
    figures.throughput = throughput;
    if (profileDir) figures.profiles = await profileLoad(server, [{ name: 'healthz', path: '/healthz' }, hello], placement, profileDir, store);

    const lookupsAt = (population: number) => server.request<LookupResult>({ cmd: 'lookups', population, count: S.lookups, warmup: 1000 }, 120_000);
    const small: ScalePoint = {
      storedSessions: S.smallSize, lookup: await lookupsAt(synthetic), helloRps: helloResult!.rps, helloP99Ms: helloResult!.p99Ms,
      healthzRps: healthz!.rps, helloCpuUs: helloResult!.serverCpuUsPerRequest,
    };
    figures.scale = { small };

    log(`${store}: memory with ${S.memorySessions} more sessions`);
    const memory = await server.request<MemoryResult>({ cmd: 'memory', templateSub, from: synthetic, count: S.memorySessions }, 300_000);
    synthetic += S.memorySessions;
    figures.memory = {
      ...memory,
      perSessionBytes: Math.round((memory.rssAfter - memory.rssBefore) / memory.created),
      how: `${memory.created.toLocaleString('en-US')} copies of a real login's session created with store.create in the server process (${Math.round(memory.fillMs)} ms); RSS of the app's process (the dev-idp runs in its own), after a full GC, with ${S.smallSize} sessions stored before`,
    };

    if (SCALE_STORES.includes(store)) {
      const to = S.largeSize - realSessions;
      log(`${store}: filling to ${S.largeSize.toLocaleString('en-US')} sessions`);
      const fill = await server.request<FillResult>({ cmd: 'fill', templateSub, from: synthetic, to, bulk: true }, 60_000 + (to - synthetic) * 2);
      log(`${store}: ${Math.round(fill.ms / 1000)} s (${fill.method})`);
      synthetic = to;
      const lookup = await lookupsAt(synthetic);
      let large: ScalePoint = { storedSessions: S.largeSize, lookup, helloRps: undefined, helloP99Ms: undefined, healthzRps: undefined, helloCpuUs: undefined };
      if (S.largeThroughput) {
        await server.request({ cmd: 'gc' }, 30_000);
        log(`${store}: throughput /healthz vs /api/hello at ${S.largeSize.toLocaleString('en-US')} sessions`);
        const [healthzLarge, helloLarge] = await runLoad(loadPlan(server, [{ name: 'healthz', path: '/healthz' }, hello]), placement);
        checkLoad([healthzLarge!, helloLarge!]);
        large = { ...large, helloRps: helloLarge!.rps, helloP99Ms: helloLarge!.p99Ms, healthzRps: healthzLarge!.rps, helloCpuUs: helloLarge!.serverCpuUsPerRequest };
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
  }
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
    settings: { connections: S.connections, warmupSeconds: S.warmupSeconds, seconds: S.seconds, rounds: S.rounds, sessions: S.sessions, smallSize: S.smallSize, largeSize: S.largeSize, largeThroughput: S.largeThroughput, lookups: S.lookups },
    stores: [],
  };
  log(`cores: ${placement.describe}`);
  // All servers start at once, before any measurement: their start-up never overlaps a measured phase.
  log(`starting dev-idp + app for ${stores.join(', ')}`);
  const servers = await Promise.all(stores.map((store) => startServer(store, placement)));
  for (const [i, store] of stores.entries()) {
    // --quick: login round trip on the first store only (each store still gets its 100 real logins).
    run.stores.push(await benchStore(store, servers[i]!, placement, profileDir, !quick || i === 0));
  }
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
