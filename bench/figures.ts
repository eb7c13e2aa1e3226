/** The shape of a benchmark run's figures: printed as one table and written as JSON. */
import type { LoadResult } from './load-worker.ts';
import type { LookupResult, MemoryResult, StoreName } from './protocol.ts';

export interface ThroughputFigures {
  hello: LoadResult;
  healthz: LoadResult;
  /** hello rps / healthz rps. */
  ratio: number;
  /**
   * healthz server CPU per request / hello server CPU per request: the same ratio from the
   * server's own cost, much less disturbed by other load on the machine. Undefined off Linux.
   */
  cpuRatio: number | undefined;
  /** The target for this store's ratio. */
  target: number;
  /** Distinct real sessions the load rotated through. */
  sessions: number;
  /** Sessions in the store during the run. */
  storedSessions: number;
}

export interface WireFigures {
  /** Bytes of the whole `Cookie: ...\r\n` request header line. */
  cookieHeaderBytes: number;
  /** Bytes of the Cookie header's value (name=value pairs): the session cookie on the wire. */
  cookieValueBytes: number;
  /**
   * The same value with the cookie names an https deployment uses (`__Host-bff.sid`, and its
   * `.sig`); the benchmark's app runs on http://localhost, where the name is `bff.sid`.
   */
  cookieValueBytesHttps: number;
  /** Bytes of all `Set-Cookie: ...\r\n` lines of the response (goal: 0). */
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
  /** Authenticated /api/hello rps with this many stored sessions (undefined: not measured, --quick at the large size). */
  helloRps: number | undefined;
  helloP99Ms: number | undefined;
  /** /healthz rps in the same run: the machine's drift between the two sizes shows here. */
  healthzRps: number | undefined;
  /** Server CPU per /api/hello request, µs. */
  helloCpuUs: number | undefined;
}

export interface StoreFigures {
  store: StoreName;
  /** Why this store was not measured (not available yet, Redis unreachable, failure). */
  skipped?: string;
  storeKind?: string;
  login?: LoginFigures;
  wire?: WireFigures;
  throughput?: ThroughputFigures;
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
  memory?: MemoryResult & { perSessionBytes: number; how: string };
  /** CPU profiles of the server under load (--profile), one per endpoint. */
  profiles?: string[];
}

export interface RunFigures {
  startedAt: string;
  quick: boolean;
  command: string;
  machine: { nproc: number; cpuModel: string; node: string; platform: string; loadAverage: number[] };
  placement: string;
  commit: string;
  settings: { connections: number; warmupSeconds: number; seconds: number; rounds: number; sessions: number; smallSize: number; largeSize: number; largeThroughput: boolean; lookups: number };
  stores: StoreFigures[];
}

/** The targets. */
export const TARGETS = {
  ratio: { sqlite: 0.85, memory: 0.85, redis: 0.7 } as Record<StoreName, number>,
  /** Session cookie (Cookie header value) bytes. */
  cookieBytes: 100,
  setCookieBytes: 0,
  p99ScaleRatio: 1.5,
  loginMedianMs: 50,
};
