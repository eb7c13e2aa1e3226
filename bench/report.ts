/** Renders a run's figures as one plain-text table (rows: measures, columns: stores). */
import { TARGETS, type RunFigures, type StoreFigures } from './figures.ts';

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => fmt(bytes / 1024 / 1024, 1);
const sizeLabel = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

type Row = [label: string, cell: (s: StoreFigures) => string | undefined];

/** The table and its header lines, ready to print. */
export function renderReport(run: RunFigures): string {
  const { settings: st } = run;
  const small = sizeLabel(st.smallSize);
  const large = sizeLabel(st.largeSize);
  const rows: Row[] = [
    ['Authenticated GET /api/hello  req/s', (s) => s.throughput && fmt(s.throughput.hello.rps)],
    ['  latency p50 / p99  ms', (s) => s.throughput && `${fmt(s.throughput.hello.p50Ms, 2)} / ${fmt(s.throughput.hello.p99Ms, 2)}`],
    ['Public GET /healthz  req/s', (s) => s.throughput && fmt(s.throughput.healthz.rps)],
    ['  latency p50 / p99  ms', (s) => s.throughput && `${fmt(s.throughput.healthz.p50Ms, 2)} / ${fmt(s.throughput.healthz.p99Ms, 2)}`],
    ['Ratio authenticated / public', (s) => s.throughput && `${fmt(s.throughput.ratio, 2)} (>= ${s.throughput.target}: ${verdict(s.throughput.ratio >= s.throughput.target)})`],
    ['Server CPU per request /healthz / /api/hello  µs', (s) => s.throughput && `${fmt(s.throughput.healthz.serverCpuUsPerRequest, 0)} / ${fmt(s.throughput.hello.serverCpuUsPerRequest, 0)}`],
    ['  ratio by CPU cost (public / authenticated)', (s) => s.throughput && (s.throughput.cpuRatio === undefined ? undefined : `${fmt(s.throughput.cpuRatio, 2)} (>= ${s.throughput.target}: ${verdict(s.throughput.cpuRatio >= s.throughput.target)})`)],
    ['Session cookie (Cookie value)  bytes', (s) => s.wire && `${s.wire.cookieValueBytes} (<= ${TARGETS.cookieBytes}: ${verdict(s.wire.cookieValueBytes <= TARGETS.cookieBytes)})`],
    ['  whole Cookie header line; value with https names', (s) => s.wire && `${s.wire.cookieHeaderBytes}; ${s.wire.cookieValueBytesHttps}`],
    ['Set-Cookie on the API response  bytes', (s) => s.wire && `${s.wire.setCookieBytes} (none: ${verdict(s.wire.setCookieBytes === 0)})`],
    ['Login round trip median / p95  ms', (s) => s.login && `${fmt(s.login.sequential.medianMs, 1)} / ${fmt(s.login.sequential.p95Ms, 1)} (<= ${TARGETS.loginMedianMs}: ${verdict(s.login.sequential.medianMs <= TARGETS.loginMedianMs)})`],
    ['Logins/s, 10 concurrent users', (s) => s.login && fmt(s.login.concurrent.perSecond, 1)],
    [`Store lookup p50 / p99 at ${small}  µs`, (s) => s.scale && `${fmt(s.scale.small.lookup.p50Us, 1)} / ${fmt(s.scale.small.lookup.p99Us, 1)}`],
    [`Store lookup p50 / p99 at ${large}  µs`, (s) => s.scale?.large && `${fmt(s.scale.large.lookup.p50Us, 1)} / ${fmt(s.scale.large.lookup.p99Us, 1)}`],
    [`  p99 ratio ${large} / ${small}`, (s) => s.scale?.p99Ratio !== undefined ? `${fmt(s.scale.p99Ratio, 2)} (<= ${TARGETS.p99ScaleRatio}: ${verdict(s.scale.p99Ratio <= TARGETS.p99ScaleRatio)})` : undefined],
    [`/api/hello req/s at ${small} / ${large}`, (s) => s.scale?.large && `${fmt(s.scale.small.helloRps)} / ${fmt(s.scale.large.helloRps)}`],
    [`  ratio ${large} / ${small}; /healthz ratio (drift)`, (s) => s.scale?.large?.healthzRps !== undefined && s.scale.small.healthzRps !== undefined ? `${fmt(s.scale.rpsRatio, 2)}; ${fmt(s.scale.large.healthzRps / s.scale.small.healthzRps, 2)}` : undefined],
    [`  server CPU per request at ${small} / ${large}  µs`, (s) => s.scale?.large && `${fmt(s.scale.small.helloCpuUs)} / ${fmt(s.scale.large.helloCpuUs)}`],
    ['Server RSS before / after 10k sessions  MB', (s) => s.memory && `${mb(s.memory.rssBefore)} / ${mb(s.memory.rssAfter)}`],
    ['  heap before / after  MB', (s) => s.memory && `${mb(s.memory.heapBefore)} / ${mb(s.memory.heapAfter)}`],
    ['  RSS per session  bytes', (s) => s.memory && fmt(s.memory.perSessionBytes)],
  ];
  const header = ['', ...run.stores.map((s) => s.store)];
  const body = rows.map(([label, cell]) => [label, ...run.stores.map((s) => (s.skipped ? 'skipped' : cell(s) ?? '–'))]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');

  const m = run.machine;
  const out = [
    `koa-oidc-bff benchmark ${run.quick ? '(--quick) ' : ''}${run.startedAt}, commit ${run.commit}`,
    `machine: ${m.nproc} cores (nproc), ${m.cpuModel}, Node ${m.node}, load average ${m.loadAverage.map((l) => l.toFixed(2)).join(' ')} at start`,
    `cores: ${run.placement}`,
    `load: autocannon, ${st.connections} connections, ${st.warmupSeconds} s warm-up per endpoint, ${st.rounds} x ${st.seconds} s measured per endpoint (interleaved), ${st.sessions} distinct sessions from real logins`,
    `store scale: ${st.lookups.toLocaleString('en-US')} sequential store.get of random sessions (process.hrtime), at ${st.smallSize.toLocaleString('en-US')} and ${st.largeSize.toLocaleString('en-US')} stored sessions${run.quick ? ' (--quick: a smaller large size, and no throughput run at it)' : ''}`,
    '',
    line(header),
    sep,
    ...body.map(line),
  ];
  for (const s of run.stores) {
    if (s.skipped) out.push(`${s.store}: skipped: ${s.skipped}`);
    if (s.memory) out.push(`${s.store} memory: ${s.memory.how}`);
    if (s.scale?.fillMethod) out.push(`${s.store} scale: ${s.scale.large?.storedSessions.toLocaleString('en-US')} sessions written in ${fmt((s.scale.fillMs ?? 0) / 1000, 1)} s (${s.scale.fillMethod}), read back through store.get`);
  }
  return out.join('\n');
}
