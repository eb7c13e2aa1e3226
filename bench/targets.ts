/**
 * The issue's targets checked against one run's figures: each a ratio or size measured in this
 * run (never a timed test), with its target and a verdict. Printed by bench/report.ts and written
 * with the figures as JSON.
 */
import { TARGETS, type RunFigures, type StoreFigures, type TargetCheck } from './figures.ts';
import type { StoreName } from './protocol.ts';

const ratio = (n: number) => n.toFixed(2);
const sizeLabel = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));

interface Spec {
  id: string;
  label: string;
  /** Stores it applies to (default: all). */
  stores?: StoreName[];
  op: '>=' | '<=';
  target: (store: StoreName) => number;
  measured: (s: StoreFigures) => number | undefined;
  /** How the measured value and the target print (default: 2 decimals). */
  format?: (n: number) => string;
}

/** The specs of the targets, for the run's settings (the scale target names its sizes). */
function specs(run: RunFigures): Spec[] {
  const { smallSize, largeSize } = run.settings;
  const n = TARGETS.p99Connections;
  const bytes = (v: number) => `${Math.round(v)} B`;
  return [
    { id: 'hello-json-vs-bare', label: 'authenticated /api/hello JSON / bare Koa /api/hello, req/s', op: '>=', target: (s) => TARGETS.helloVsBare[s], measured: (s) => s.throughput?.vsBare.helloJson },
    { id: 'hello-htmx-vs-bare', label: 'authenticated /api/hello htmx / bare Koa /api/hello, req/s', op: '>=', target: (s) => TARGETS.helloVsBare[s], measured: (s) => s.throughput?.vsBare.helloHtmx },
    { id: 'healthz-vs-bare', label: 'app /healthz / bare Koa /healthz, req/s', op: '>=', target: () => TARGETS.healthzVsBare, measured: (s) => s.throughput?.vsBare.healthz },
    { id: 'hello-json-vs-healthz', label: 'authenticated /api/hello JSON / app /healthz, req/s', op: '>=', target: (s) => TARGETS.ratio[s], measured: (s) => s.throughput?.ratio.json },
    { id: 'hello-htmx-vs-healthz', label: 'authenticated /api/hello htmx / app /healthz, req/s', op: '>=', target: (s) => TARGETS.ratio[s], measured: (s) => s.throughput?.ratio.htmx },
    { id: 'p99-json-vs-bare', label: `p99 at ${n} connections: /api/hello JSON / bare Koa /api/hello`, op: '<=', target: () => TARGETS.p99VsBare, measured: (s) => s.throughput?.p99VsBare.helloJson },
    { id: 'p99-htmx-vs-bare', label: `p99 at ${n} connections: /api/hello htmx / bare Koa /api/hello`, op: '<=', target: () => TARGETS.p99VsBare, measured: (s) => s.throughput?.p99VsBare.helloHtmx },
    {
      id: 'store-p99-scale',
      label: `store.get p99 at ${sizeLabel(largeSize)} / at ${sizeLabel(smallSize)} stored sessions${run.quick ? ` (--quick: ${sizeLabel(largeSize)}, not 1M)` : ''}`,
      stores: ['sqlite', 'redis', 'redis-cluster'], op: '<=', target: () => TARGETS.p99ScaleRatio, measured: (s) => s.scale?.p99Ratio,
    },
    { id: 'hot-record-bytes', label: 'hot record (store.get): JSON of data + metadata values, bytes', op: '<=', target: () => TARGETS.hotRecordBytes, measured: (s) => s.hotRecord?.totalBytes, format: bytes },
    { id: 'cookie-bytes', label: 'session cookie (Cookie value), bytes', op: '<=', target: () => TARGETS.cookieBytes, measured: (s) => s.wire?.cookieValueBytes, format: bytes },
    { id: 'set-cookie-bytes', label: 'Set-Cookie on ordinary API responses, bytes', op: '<=', target: () => TARGETS.setCookieBytes, measured: (s) => s.wire?.setCookieBytes, format: bytes },
    {
      id: 'telemetry-cost',
      label: 'metrics + traces (1 % sampled) cost: authenticated req/s lost (CPU per request, both servers loaded at once), worst of JSON and htmx',
      op: '<=', target: () => TARGETS.telemetryCost, format: (v) => `${(v * 100).toFixed(1)} %`,
      measured: (s) => {
        const t = s.telemetry?.together.throughputCost;
        return t?.json === undefined || t.htmx === undefined ? undefined : Math.max(t.json, t.htmx);
      },
    },
    { id: 'login-median-ms', label: 'login round trip median, ms', op: '<=', target: () => TARGETS.loginMedianMs, measured: (s) => s.login?.sequential.medianMs, format: (v) => `${v.toFixed(1)} ms` },
  ];
}

/** Every target against every store it applies to (not measured: `pass` undefined). */
export function checkTargets(run: RunFigures): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const spec of specs(run)) {
    for (const s of run.stores) {
      if (spec.stores && !spec.stores.includes(s.store)) continue;
      const format = spec.format ?? ratio;
      const target = spec.target(s.store);
      const measured = s.skipped ? undefined : spec.measured(s);
      checks.push({
        id: spec.id,
        label: spec.label,
        store: s.store,
        measured,
        op: spec.op,
        target,
        shown: measured === undefined ? '–' : format(measured),
        targetShown: `${spec.op} ${format(target)}`,
        pass: measured === undefined ? undefined : spec.op === '>=' ? measured >= target : measured <= target,
      });
    }
  }
  return checks;
}
