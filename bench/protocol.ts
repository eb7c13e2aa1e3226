/**
 * Messages between the benchmark driver (bench/run.ts) and the server process (bench/server.ts),
 * sent over the Node IPC channel of the child process.
 */

export type StoreName = 'sqlite' | 'redis' | 'redis-cluster' | 'memory';

/** The app's registration at the benchmark's dev-idp. */
export const BENCH_CLIENT = { clientId: 'bench-client', clientSecret: 'bench-client-secret-that-is-long-enough' };
/** Development-only session secret of the benchmark's app. */
export const BENCH_SESSION_SECRET = 'bench-session-secret-0123456789abcdef';

/** Sent once by the server when the dev-idp and the app are listening (and by bench/bare-koa.ts). */
export interface ReadyMessage {
  type: 'ready';
  appUrl: string;
  /** `store.kind` as reported by the store createStore(config) returned; `bare-koa` for the reference server. */
  storeKind: string;
  pid: number;
}

export type Command =
  /**
   * Creates synthetic sessions [from, to) shaped like a live session of `templateSub`, through
   * store.create, or with `bulk` through the store kind's fast path (bench/bulk-fill.ts).
   */
  | { cmd: 'fill'; templateSub: string; from: number; to: number; bulk?: boolean }
  /** Times `count` store.get of random synthetic sessions among [0, population), after `warmup` untimed ones. */
  | { cmd: 'lookups'; population: number; count: number; warmup: number }
  /** Resident memory before and after creating `count` synthetic sessions from index `from`. */
  | { cmd: 'memory'; templateSub: string; from: number; count: number }
  /** The size of the hot record (what `store.get` returns) of the newest real login of `sub`. */
  | { cmd: 'hot-record'; sub: string }
  /**
   * `calls` authenticated JSON calls of `cookie`'s session sent to the app's Koa handler in the
   * server process, without HTTP (bench/in-process.ts), `concurrency` at a time; with `twin`, to
   * the app without telemetry of a server started with one.
   */
  | { cmd: 'in-process'; cookie: string; calls: number; concurrency: number; twin?: boolean }
  /** A full garbage collection (after a bulk fill, so its garbage is not collected during a measurement). */
  | { cmd: 'gc' }
  /** Starts the V8 CPU profiler in the server (the same profiler as node --cpu-prof). */
  | { cmd: 'profile-start' }
  /** Stops the profiler and writes the profile to `file` (a .cpuprofile for Chrome DevTools or bench/profile-summary.ts). */
  | { cmd: 'profile-stop'; file: string }
  /** Closes app, dev-idp and store, then exits. */
  | { cmd: 'close' };

export interface FillResult { ms: number; method: string }
export interface LookupResult { p50Us: number; p99Us: number; meanUs: number; count: number }
export interface MemoryResult {
  rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number; created: number; fillMs: number;
  /** Bytes of JSON.stringify of the token record each synthetic session was created with (0: none). */
  tokenRecordBytes: number;
}

/**
 * The hot record of a real login's session as `store.get` returns it: what every authenticated
 * request reads. `dataBytes` is `JSON.stringify(record.data)`; `metadataBytes` is the record's
 * other fields (id, sub, sid, the four times, userAgent) as the values a store holds: each value's
 * text (numbers in decimal), without field names. UTF-8 bytes throughout.
 */
export interface HotRecordResult {
  dataBytes: number;
  metadataBytes: number;
  /** dataBytes + metadataBytes: the figure the target is about. */
  totalBytes: number;
  /** For comparison: JSON.stringify of the whole record, field names included. */
  recordJsonBytes: number;
  /** Top-level keys of `record.data`. */
  dataKeys: string[];
  /** Bytes per field: the metadata fields' values by name, the data keys' JSON values as `data.<key>`. */
  fieldBytes: Record<string, number>;
  /** Of the metadata: the stored User-Agent (the login driver's: a short Chrome-like string). */
  userAgentBytes: number;
  /** JSON.stringify(await store.getTokens(id, now)): the cold record, not read by ordinary requests (0: none). */
  tokenRecordBytes: number;
}

export interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
