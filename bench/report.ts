/**
 * Renders a run's figures as plain-text tables (rows: measures, columns: stores): first the app
 * against the bare Koa reference, then the targets with their verdicts, then the details.
 */
import type { LoadResult } from './load-worker.ts';
import type { RunFigures, StoreFigures, TargetCheck } from './figures.ts';

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => fmt(bytes / 1024 / 1024, 1);
const sizeLabel = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
/** `value (0.52x bare)`. */
const vsBare = (value: string, ratio: number | undefined) => `${value} (${fmt(ratio, 2)}x bare)`;
const rps = (r: LoadResult) => fmt(r.rps);
const cpu = (r: LoadResult) => fmt(r.serverCpuUsPerRequest);
/** Bare Koa's CPU per request / the app's: the vs-bare ratio from the servers' own cost (less disturbed by a busy machine). */
const cpuShare = (bare: LoadResult, app: LoadResult) => (bare.serverCpuUsPerRequest && app.serverCpuUsPerRequest ? fmt(bare.serverCpuUsPerRequest / app.serverCpuUsPerRequest, 2) : '–');
/** Share of one core the server used during the run (well below 100%: the server waited for the load generator or for the CPU). */
const busy = (r: LoadResult) => (r.serverCpuUsPerRequest === undefined ? '–' : `${fmt((r.serverCpuUsPerRequest * r.rps) / 1e4)}%`);

/** `4.2 %` (`+4.2 %` with `sign`). */
const pct = (v: number | undefined, sign = false) => (v === undefined ? '–' : `${sign && v >= 0 ? '+' : ''}${fmt(v * 100, 1)} %`);

type Row = [label: string, cell: (s: StoreFigures) => string | undefined];

/** One table: a title row with the store names, a rule, and the rows. */
function table(title: string, stores: StoreFigures[], rows: [label: string, cells: string[]][]): string[] {
  const header = [title, ...stores.map((s) => s.store)];
  const widths = header.map((_, i) => Math.max(...[header, ...rows.map(([label, cells]) => [label, ...cells])].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(([label, cells]) => line([label, ...cells]))];
}

function storeTable(title: string, stores: StoreFigures[], rows: Row[]): string[] {
  return table(title, stores, rows.map(([label, cell]) => [label, stores.map((s) => (s.skipped ? 'skipped' : cell(s) ?? '–'))]));
}

function checkCell(c: TargetCheck | undefined, quick: boolean): string {
  if (!c) return '';
  if (c.pass === undefined && c.id === 'telemetry-cost') return `– ${c.targetShown} (first store only)`;
  if (c.pass === undefined) return c.id === 'login-median-ms' && quick ? `– ${c.targetShown} (--quick: first store only)` : `– ${c.targetShown} not measured`;
  return `${c.shown} ${c.targetShown} ${c.pass ? 'pass' : 'FAIL'}`;
}

/** The tables and their header lines, ready to print. */
export function renderReport(run: RunFigures): string {
  const { settings: st, stores } = run;
  const small = sizeLabel(st.smallSize);
  const large = sizeLabel(st.largeSize);
  const n = st.p99Connections;

  const versus: Row[] = [
    ['bare Koa GET /healthz  req/s', (s) => s.throughput && rps(s.throughput.bare.healthz)],
    ['bare Koa GET /api/hello  req/s', (s) => s.throughput && rps(s.throughput.bare.hello)],
    ['app GET /healthz  req/s', (s) => s.throughput && vsBare(rps(s.throughput.healthz), s.throughput.vsBare.healthz)],
    ['authenticated GET /api/hello, JSON  req/s', (s) => s.throughput && vsBare(rps(s.throughput.helloJson), s.throughput.vsBare.helloJson)],
    ['authenticated GET /api/hello, htmx  req/s', (s) => s.throughput && vsBare(rps(s.throughput.helloHtmx), s.throughput.vsBare.helloHtmx)],
    [`p99 at ${n} connections, bare Koa /api/hello  ms`, (s) => s.throughput && fmt(s.throughput.bare.hello50.p99Ms, 2)],
    [`  authenticated /api/hello, JSON  ms`, (s) => s.throughput && vsBare(fmt(s.throughput.helloJson50.p99Ms, 2), s.throughput.p99VsBare.helloJson)],
    [`  authenticated /api/hello, htmx  ms`, (s) => s.throughput && vsBare(fmt(s.throughput.helloHtmx50.p99Ms, 2), s.throughput.p99VsBare.helloHtmx)],
    ['server CPU per request, bare /healthz / /api/hello  µs', (s) => s.throughput && `${cpu(s.throughput.bare.healthz)} / ${cpu(s.throughput.bare.hello)}`],
    ['  app /healthz / JSON / htmx  µs', (s) => s.throughput && `${cpu(s.throughput.healthz)} / ${cpu(s.throughput.helloJson)} / ${cpu(s.throughput.helloHtmx)}`],
    ['  bare / app by CPU cost: /healthz, JSON, htmx', (s) => s.throughput && [cpuShare(s.throughput.bare.healthz, s.throughput.healthz), cpuShare(s.throughput.bare.hello, s.throughput.helloJson), cpuShare(s.throughput.bare.hello, s.throughput.helloHtmx)].join(', ')],
    ['OpenTelemetry runs: without / with, JSON and htmx  req/s', (s) => s.telemetry && `${rps(s.telemetry.withoutJson)} / ${rps(s.telemetry.helloJson)}, ${rps(s.telemetry.withoutHtmx)} / ${rps(s.telemetry.helloHtmx)}`],
    ['  one after the other: req/s cost (median of runs, metrics + 1 % traces), JSON / htmx', (s) => s.telemetry && `${pct(s.telemetry.rpsCost.json)} / ${pct(s.telemetry.rpsCost.htmx)} (runs: ${s.telemetry.rpsCostEach.json.map((x) => pct(x)).join(' ')} / ${s.telemetry.rpsCostEach.htmx.map((x) => pct(x)).join(' ')})`],
    ['  server CPU per request without / with: JSON, htmx  µs', (s) => s.telemetry && `${cpu(s.telemetry.withoutJson)} / ${cpu(s.telemetry.helloJson)}, ${cpu(s.telemetry.withoutHtmx)} / ${cpu(s.telemetry.helloHtmx)} (median ${pct(s.telemetry.cpuCost.json, true)} / ${pct(s.telemetry.cpuCost.htmx, true)})`],
    ['  both loaded at the same time: CPU per request cost, JSON / htmx', (s) => s.telemetry && `${pct(s.telemetry.together.cpuCost.json, true)} / ${pct(s.telemetry.together.cpuCost.htmx, true)} (runs: ${s.telemetry.together.cpuCostEach.json.map((x) => pct(x, true)).join(' ')} / ${s.telemetry.together.cpuCostEach.htmx.map((x) => pct(x, true)).join(' ')})`],
    ['  as req/s lost by a CPU-bound server (target), JSON / htmx', (s) => s.telemetry && `${pct(s.telemetry.together.throughputCost.json)} / ${pct(s.telemetry.together.throughputCost.htmx)} (req/s within the runs: ${pct(s.telemetry.together.rpsCost.json)} / ${pct(s.telemetry.together.rpsCost.htmx)})`],
    ['server CPU busy under load, bare /healthz / /api/hello', (s) => s.throughput && `${busy(s.throughput.bare.healthz)} / ${busy(s.throughput.bare.hello)}`],
    ['  app /healthz / JSON / htmx', (s) => s.throughput && `${busy(s.throughput.healthz)} / ${busy(s.throughput.helloJson)} / ${busy(s.throughput.helloHtmx)}`],
  ];

  const targetRows: [string, string[]][] = [];
  for (const c of run.checks) {
    if (targetRows.some(([label]) => label === c.label)) continue;
    const same = run.checks.filter((x) => x.label === c.label);
    targetRows.push([c.label, stores.map((s) => (s.skipped ? 'skipped' : checkCell(same.find((x) => x.store === s.store), run.quick)))]);
  }
  const passed = run.checks.filter((c) => c.pass === true).length;
  const failed = run.checks.filter((c) => c.pass === false);
  const unmeasured = run.checks.filter((c) => c.pass === undefined).length;

  const details: Row[] = [
    ['GET /healthz latency p50 / p99  ms', (s) => s.throughput && `${fmt(s.throughput.healthz.p50Ms, 2)} / ${fmt(s.throughput.healthz.p99Ms, 2)}`],
    ['  bare Koa', (s) => s.throughput && `${fmt(s.throughput.bare.healthz.p50Ms, 2)} / ${fmt(s.throughput.bare.healthz.p99Ms, 2)}`],
    ['GET /api/hello JSON latency p50 / p99  ms', (s) => s.throughput && `${fmt(s.throughput.helloJson.p50Ms, 2)} / ${fmt(s.throughput.helloJson.p99Ms, 2)}`],
    ['GET /api/hello htmx latency p50 / p99  ms', (s) => s.throughput && `${fmt(s.throughput.helloHtmx.p50Ms, 2)} / ${fmt(s.throughput.helloHtmx.p99Ms, 2)}`],
    ['  bare Koa', (s) => s.throughput && `${fmt(s.throughput.bare.hello.p50Ms, 2)} / ${fmt(s.throughput.bare.hello.p99Ms, 2)}`],
    ['Authenticated / app /healthz, JSON / htmx (req/s)', (s) => s.throughput && `${fmt(s.throughput.ratio.json, 2)} / ${fmt(s.throughput.ratio.htmx, 2)}`],
    ['  the same by server CPU per request', (s) => s.throughput && `${fmt(s.throughput.cpuRatio.json, 2)} / ${fmt(s.throughput.cpuRatio.htmx, 2)}`],
    ['Session cookie (Cookie value)  bytes', (s) => s.wire && String(s.wire.cookieValueBytes)],
    ['  whole Cookie header line; value with https names', (s) => s.wire && `${s.wire.cookieHeaderBytes}; ${s.wire.cookieValueBytesHttps}`],
    ['Set-Cookie on an ordinary JSON + htmx response  bytes', (s) => s.wire && String(s.wire.setCookieBytes)],
    ['Hot record (store.get): data + metadata  bytes', (s) => s.hotRecord && `${s.hotRecord.dataBytes} + ${s.hotRecord.metadataBytes} = ${s.hotRecord.totalBytes}`],
    ['  of the metadata: User-Agent; token record apart  bytes', (s) => s.hotRecord && `${s.hotRecord.userAgentBytes}; ${fmt(s.hotRecord.tokenRecordBytes)}`],
    ['Login round trip median / p95  ms', (s) => s.login && `${fmt(s.login.sequential.medianMs, 1)} / ${fmt(s.login.sequential.p95Ms, 1)}`],
    ['Logins/s, 10 concurrent users', (s) => s.login && fmt(s.login.concurrent.perSecond, 1)],
    [`Store lookup p50 / p99 at ${small}  µs`, (s) => s.scale && `${fmt(s.scale.small.lookup.p50Us, 1)} / ${fmt(s.scale.small.lookup.p99Us, 1)}`],
    [`Store lookup p50 / p99 at ${large}  µs`, (s) => s.scale?.large && `${fmt(s.scale.large.lookup.p50Us, 1)} / ${fmt(s.scale.large.lookup.p99Us, 1)}`],
    [`  p99 ratio ${large} / ${small}`, (s) => s.scale?.p99Ratio !== undefined ? fmt(s.scale.p99Ratio, 2) : undefined],
    ...(st.largeThroughput
      ? ([
        [`/api/hello htmx req/s at ${small} / ${large}`, (s) => s.scale?.large && `${vsBare(fmt(s.scale.small.helloRps), ratioOf(s.scale.small.helloRps, s.scale.small.bareHelloRps))} / ${vsBare(fmt(s.scale.large.helloRps), ratioOf(s.scale.large.helloRps, s.scale.large.bareHelloRps))}`],
        [`/api/hello JSON req/s at ${large}`, (s) => s.scale?.large && vsBare(fmt(s.scale.large.helloJsonRps), ratioOf(s.scale.large.helloJsonRps, s.scale.large.bareHelloRps))],
        [`  htmx ratio ${large} / ${small}; /healthz ratio (drift)`, (s) => s.scale?.large?.healthzRps !== undefined && s.scale.small.healthzRps !== undefined ? `${fmt(s.scale.rpsRatio, 2)}; ${fmt(s.scale.large.healthzRps / s.scale.small.healthzRps, 2)}` : undefined],
        [`  server CPU per htmx request at ${small} / ${large}  µs`, (s) => s.scale?.large && `${fmt(s.scale.small.helloCpuUs)} / ${fmt(s.scale.large.helloCpuUs)}`],
      ] satisfies Row[])
      : []),
    ['Server RSS before / after 10k sessions  MB', (s) => s.memory && `${mb(s.memory.rssBefore)} / ${mb(s.memory.rssAfter)}`],
    ['  RSS growth per 10,000 sessions  MB', (s) => s.memory && mb(s.memory.rssPer10kBytes)],
    ['  heap before / after  MB', (s) => s.memory && `${mb(s.memory.heapBefore)} / ${mb(s.memory.heapAfter)}`],
    ['  heap per stored session (memory store)  bytes', (s) => s.memory && (s.storeKind === 'memory' ? fmt(s.memory.heapPerSessionBytes) : 'n/a: not in the heap')],
  ];

  const m = run.machine;
  const out = [
    `koa-oidc-bff benchmark ${run.quick ? '(--quick) ' : ''}${run.startedAt}, commit ${run.commit}`,
    `machine: ${m.nproc} cores (nproc), ${m.cpuModel}, Node ${m.node}, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')} at start${m.loadAverageEnd ? `, ${m.loadAverageEnd.map((l) => l.toFixed(2)).join(' ')} at the end` : ''}`,
    `cores: ${run.placement}`,
    `reference: bare Koa 3 (bench/bare-koa.ts): GET /healthz and GET /api/hello (small JSON), no router, no auth, no logging; started and pinned like the app servers, measured in each store's load plan next to the app's endpoints, one server under load at a time; its /api/hello gets the same requests (cookie, headers) as the authenticated JSON call`,
    `app: production settings, one log line per request at info into /dev/null; authenticated calls: JSON = X-CSRF: 1 + Accept: application/json, htmx = HX-Request: true`,
    `load: autocannon, ${st.connections} connections (p99 comparison: ${n}, right after, no separate warm-up), ${st.warmupSeconds} s warm-up per endpoint, ${st.rounds} x ${st.seconds} s measured per endpoint (interleaved, ${st.settleMs} ms idle before each run), ${st.sessions} distinct sessions from real logins`,
    `store scale: ${st.lookups.toLocaleString('en-US')} sequential store.get of random sessions (process.hrtime), at ${st.smallSize.toLocaleString('en-US')} and ${st.largeSize.toLocaleString('en-US')} stored sessions${run.quick ? ` (--quick: ${st.largeSize.toLocaleString('en-US')} instead of 1,000,000 as the large size, and no throughput run at it)` : ''}`,
    '',
    ...storeTable(`vs bare Koa (${st.connections} connections unless said)`, stores, versus),
    ...disturbance(stores),
    '',
    ...table('Targets (measured, target, verdict)', stores, targetRows),
    `targets: ${passed} pass, ${failed.length} FAIL${unmeasured ? `, ${unmeasured} not measured` : ''}${failed.length ? `; failing: ${[...new Set(failed.map((c) => c.id))].join(', ')}` : ''}`,
    '',
    ...storeTable('Details', stores, details),
  ];
  for (const s of stores) {
    if (s.skipped) out.push(`${s.store}: skipped: ${s.skipped}`);
    if (s.hotRecord) out.push(`${s.store} hot record: the newest real login's session through store.get; data = JSON.stringify(record.data), metadata = the values of the record's other fields as text, no field names (the whole record as JSON, names included: ${s.hotRecord.recordJsonBytes} B); bytes per field: ${Object.entries(s.hotRecord.fieldBytes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (s.memory) out.push(`${s.store} memory: ${s.memory.how}`);
    if (s.scale?.fillMethod) out.push(`${s.store} scale: ${s.scale.large?.storedSessions.toLocaleString('en-US')} sessions written in ${fmt((s.scale.fillMs ?? 0) / 1000, 1)} s (${s.scale.fillMethod}), read back through store.get and store.getTokens`);
  }
  return out.join('\n');
}

/**
 * A note when a measured server used well under its core during a load run: it then waited for
 * the CPU (other processes on its core) or for the load generator, and its req/s says more about
 * the machine than about the server.
 */
function disturbance(stores: StoreFigures[]): string[] {
  const idle: string[] = [];
  for (const s of stores) {
    const t = s.throughput;
    if (!t) continue;
    const runs: [string, LoadResult][] = [['bare /healthz', t.bare.healthz], ['bare /api/hello', t.bare.hello], ['/healthz', t.healthz], ['JSON', t.helloJson], ['htmx', t.helloHtmx]];
    const low = runs.filter(([, r]) => r.serverCpuUsPerRequest !== undefined && (r.serverCpuUsPerRequest * r.rps) / 1e6 < BUSY_ENOUGH);
    if (low.length) idle.push(`${s.store}: ${low.map(([name, r]) => `${name} ${busy(r)}`).join(', ')}`);
  }
  if (!idle.length) return [];
  return [`note: server CPU busy below ${BUSY_ENOUGH * 100}% in runs of ${idle.join('; ')}: that server waited for its core (other processes on it) or for the load generator, so those req/s and their ratios are disturbed; the CPU-cost ratios above are less so`];
}
const BUSY_ENOUGH = 0.8;

function ratioOf(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b ? a / b : undefined;
}
