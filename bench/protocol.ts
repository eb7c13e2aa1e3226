/**
 * Messages between the benchmark driver (bench/run.ts) and the server process (bench/server.ts),
 * sent over the Node IPC channel of the child process.
 */

export type StoreName = 'sqlite' | 'redis' | 'memory';

/** Sent once by the server when the dev-idp and the app are listening. */
export interface ReadyMessage {
  type: 'ready';
  appUrl: string;
  /** `store.kind` as reported by the store createStore(config) returned. */
  storeKind: string;
  pid: number;
}

export type Command =
  /** Creates synthetic sessions [from, to) shaped like a live session of `templateSub`. */
  | { cmd: 'fill'; templateSub: string; from: number; to: number }
  /** Times `count` store.get of random synthetic sessions among [0, population), after `warmup` untimed ones. */
  | { cmd: 'lookups'; population: number; count: number; warmup: number }
  /** Resident memory before and after creating `count` synthetic sessions from index `from`. */
  | { cmd: 'memory'; templateSub: string; from: number; count: number }
  /** Closes app, dev-idp and store, then exits (a CPU profile, if on, is written then). */
  | { cmd: 'close' };

export interface FillResult { ms: number }
export interface LookupResult { p50Us: number; p99Us: number; meanUs: number; count: number }
export interface MemoryResult { rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number; created: number; fillMs: number }

export interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
