/** The shape of a benchmark run's figures: printed as one table and written as JSON. */
import type { LoadResult } from './load-worker.ts';
import type { HotRecordResult, LookupResult, MemoryResult, StoreName } from './protocol.ts';

/** The bare Koa reference (bench/bare-koa.ts) as measured in one load plan, next to the app's runs. */
export interface BareFigures {
  healthz: LoadResult;
  /** GET /api/hello (its small JSON), at the plan's connections. */
  hello: LoadResult;
  /** GET /api/hello at {@link RunFigures.settings}.p99Connections connections (the p99 reference). */
  hello50: LoadResult;
}

export interface ThroughputFigures {
  /** The bare Koa reference, measured in the same load plan as the app's endpoints below (interleaved, one server at a time). */
  bare: BareFigures;
  healthz: LoadResult;
  /** Authenticated GET /api/hello asking for JSON (`X-CSRF: 1`, `Accept: application/json`). */
  helloJson: LoadResult;
  /** Authenticated GET /api/hello as htmx (`HX-Request: true`): the HTML fragment. */
  helloHtmx: LoadResult;
  /** The same two at the p99 reference's connections. */
  helloJson50: LoadResult;
  helloHtmx50: LoadResult;
  /** Throughput / the bare Koa server's throughput on the same route (/healthz to /healthz, /api/hello to /api/hello). */
  vsBare: { healthz: number; helloJson: number; helloHtmx: number };
  /** p99 latency at the p99 reference's connections / bare Koa's /api/hello p99 there. */
  p99VsBare: { helloJson: number; helloHtmx: number };
  /** Authenticated rps / the app's own /healthz rps (the first ratio). */
  ratio: { json: number; htmx: number };
  /**
   * healthz server CPU per request / authenticated server CPU per request: the same ratio from the
   * server's own cost, much less disturbed by other load on the machine. Undefined off Linux.
   */
  cpuRatio: { json: number | undefined; htmx: number | undefined };
  /** Distinct real sessions the load rotated through. */
  sessions: number;
  /** Sessions in the store during the run. */
  storedSessions: number;
}

/** The size of a real login's hot record (bench/server.ts `hot-record`). */
export type HotRecordFigures = HotRecordResult;

export interface WireFigures {
  /** Bytes of the whole `Cookie: ...\r\n` request header line. */
  cookieHeaderBytes: number;
  /** Bytes of the Cookie header's value (name=value pairs): the session cookie on the wire. */
  cookieValueBytes: number;
  /**
   * The same value with the cookie names an https deployment uses (`__Host-Http-bff.sid`, and its
   * `.sig`); the benchmark's app runs on http://localhost, where the name is `bff.sid`.
   */
  cookieValueBytesHttps: number;
  /** Bytes of all `Set-Cookie: ...\r\n` lines of two ordinary responses, one JSON and one htmx (goal: 0). */
  setCookieBytes: number;
  setCookieHeaders: number;
}

export interface LoginFigures {
  /** Untimed logins first (the first in a process is slow: module and key warm-up). */
  warmup: number;
  sequential: { count: number; medianMs: number; p95Ms: number };
  concurrent: { users: number; seconds: number; logins: number; perSecond: number };
}

export interface ScalePoint {
  storedSessions: number;
  lookup: LookupResult;
  /** Authenticated /api/hello (htmx) rps with this many stored sessions (undefined: not measured, --quick at the large size). */
  helloRps: number | undefined;
  helloP99Ms: number | undefined;
  /** Authenticated /api/hello (JSON) rps. */
  helloJsonRps: number | undefined;
  /** /healthz rps in the same run: the machine's drift between the two sizes shows here. */
  healthzRps: number | undefined;
  /** Bare Koa's /api/hello rps in the same load plan. */
  bareHelloRps: number | undefined;
  /** Server CPU per /api/hello (htmx) request, µs. */
  helloCpuUs: number | undefined;
}

export interface StoreFigures {
  store: StoreName;
  /** Why this store was not measured (not available yet, Redis unreachable, failure). */
  skipped?: string;
  storeKind?: string;
  login?: LoginFigures;
  wire?: WireFigures;
  hotRecord?: HotRecordFigures;
  throughput?: ThroughputFigures;
  /** Authenticated /api/hello on a second server of this store with OpenTelemetry on (first store only). */
  telemetry?: TelemetryFigures;
  scale?: {
    small: ScalePoint;
    large?: ScalePoint;
    /** Lookup p99 at the large size / at the small size. */
    p99Ratio?: number;
    /** /api/hello rps at the large size / at the small size. */
    rpsRatio?: number;
    /** /api/hello server CPU per request at the small size / at the large size (1 = no extra cost). */
    cpuRatio?: number;
    fillMs?: number;
    fillMethod?: string;
  };
  memory?: MemoryResult & {
    /** (heap after - heap before) / sessions: bytes per stored session in the app's heap (the memory store keeps them there). */
    heapPerSessionBytes: number;
    /** (RSS after - RSS before) / sessions. */
    rssPerSessionBytes: number;
    /** RSS growth scaled to 10,000 sessions. */
    rssPer10kBytes: number;
    how: string;
  };
  /** CPU profiles of the server under load (--profile), one per endpoint. */
  profiles?: string[];
}

export interface RunFigures {
  startedAt: string;
  quick: boolean;
  command: string;
  machine: { nproc: number; cpuModel: string; node: string; platform: string; loadAverage: number[]; loadAverageEnd?: number[] };
  placement: string;
  commit: string;
  settings: { connections: number; p99Connections: number; warmupSeconds: number; seconds: number; rounds: number; settleMs: number; sessions: number; smallSize: number; largeSize: number; largeThroughput: boolean; lookups: number };
  /** The bare Koa reference's process (bench/bare-koa.ts), on the app servers' core. */
  bareKoa: { pid: number; url: string };
  stores: StoreFigures[];
  /** Every target with its measured value and verdict (bench/targets.ts). */
  checks: TargetCheck[];
}

/** One target checked against one store's figures. */
export interface TargetCheck {
  /** Stable id, e.g. `hello-json-vs-bare`. */
  id: string;
  /** What is compared, for the table. */
  label: string;
  store: StoreName;
  /** Undefined when it was not measured (skipped store, --quick leaving the login out for later stores). */
  measured: number | undefined;
  op: '>=' | '<=';
  target: number;
  /** Formatted measured value and target, e.g. `0.52` and `>= 0.45`, or `81 B` and `<= 100 B`. */
  shown: string;
  targetShown: string;
  /** Undefined when not measured. */
  pass: boolean | undefined;
}

/** The targets. */
/**
 * The same authenticated calls on a server with the demo's OpenTelemetry SDK (Prometheus endpoint,
 * OTLP/HTTP export of metrics and of traces sampled at 1 %) and on the server without it (no SDK:
 * the package wires nothing), in runs of their own after the main load plan.
 */
export interface TelemetryFigures {
  sampler: string;
  /** Runs of the four loads (JSON and htmx, without and with the SDK), alternating their order. */
  runs: number;
  /** With the SDK, over all runs. */
  helloJson: LoadResult;
  helloHtmx: LoadResult;
  /** Without it, over the same runs. */
  withoutJson: LoadResult;
  withoutHtmx: LoadResult;
  /** Median over the runs of 1 - rps with telemetry / rps without (0.05 = 5 % fewer requests per second). */
  rpsCost: { json: number; htmx: number };
  /** Each run's own rps cost, in run order. */
  rpsCostEach: { json: number[]; htmx: number[] };
  /** Median over the runs of CPU µs per request with telemetry / without - 1 (0.05 = 5 % more CPU per request). */
  cpuCost: { json: number | undefined; htmx: number | undefined };
  /**
   * The runs with both servers loaded at the same time (JSON on both, then htmx on both), as many
   * as `runs`: median over the runs of CPU µs per request with telemetry / without - 1 and each
   * run's figure (undefined off Linux); the req/s a CPU-bound server loses to that cost,
   * 1 - 1 / (1 + cpuCost), which the target is checked on; and the median of 1 - rps with / without
   * within each run (the two servers share one core, so this also depends on how the scheduler
   * split it).
   */
  together: {
    cpuCost: { json: number | undefined; htmx: number | undefined };
    cpuCostEach: { json: (number | undefined)[]; htmx: (number | undefined)[] };
    throughputCost: { json: number | undefined; htmx: number | undefined };
    rpsCost: { json: number; htmx: number };
  };
  /** OTLP export requests the collector stand-in received (traces and metrics). */
  otlpRequests: number;
}

export const TARGETS = {
  /** Metrics and tracing at 1 % sampling cost at most this share of authenticated throughput. */
  telemetryCost: 0.1,
  /** Authenticated /api/hello (JSON and htmx) rps / bare Koa's /api/hello rps, at least. */
  helloVsBare: { sqlite: 0.45, memory: 0.45, redis: 0.35, 'redis-cluster': 0.35 } as Record<StoreName, number>,
  /** The app's /healthz rps / bare Koa's /healthz rps, at least. */
  healthzVsBare: 0.6,
  /** Authenticated rps / the app's own /healthz rps, at least. */
  ratio: { sqlite: 0.85, memory: 0.85, redis: 0.7, 'redis-cluster': 0.7 } as Record<StoreName, number>,
  /** Authenticated p99 at 50 connections / bare Koa's /api/hello p99 at 50 connections, at most. */
  p99VsBare: 2,
  /** Connections of the p99 comparison. */
  p99Connections: 50,
  /** Session cookie (Cookie header value) bytes. */
  cookieBytes: 100,
  setCookieBytes: 0,
  /** store.get p99 at the large size / at the small size (SQLite and Redis), at most. */
  p99ScaleRatio: 1.5,
  /** Bytes of a real login's hot record: JSON.stringify(record.data) plus its metadata. */
  hotRecordBytes: 300,
  loginMedianMs: 30,
};
