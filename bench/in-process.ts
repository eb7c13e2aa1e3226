/**
 * Authenticated calls without HTTP: the app's Koa handler (`app.koa.callback()`) called in the
 * server process with Node's own `IncomingMessage` and `ServerResponse` over a socket that
 * discards what is written. No HTTP parsing, no kernel, no load generator: what is left is the
 * app's JavaScript, so the CPU time per call moves much less between runs than over HTTP on a
 * shared machine. A diagnostic (bench/telemetry-in-process.ts), never a figure of `npm run bench`.
 */
import http from 'node:http';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Duplex } from 'node:stream';
import { statCpuUs } from './proc-cpu.ts';

/** A socket that accepts every write and keeps the last one (its status line explains an unexpected status). */
class DiscardingSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  last = '';
  override _read(): void {}
  override _write(chunk: unknown, _encoding: unknown, done: () => void): void {
    this.last = String(chunk);
    done();
  }
  override _writev(chunks: { chunk: unknown }[], done: () => void): void {
    this.last = chunks.map((c) => String(c.chunk)).join('');
    done();
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
}

export interface InProcessOptions {
  /** The Host header (the app's own `localhost:<port>`). */
  host: string;
  /** The Cookie header of a real login. */
  cookie: string;
  /** Calls in all. */
  calls: number;
  /** Calls in flight at once, each on its own socket. */
  concurrency: number;
}

export interface InProcessResult {
  calls: number;
  /** Process CPU time (user + system, every thread) per call, µs. */
  cpuUsPerCall: number;
  /** Wall-clock time per call, µs. */
  wallUsPerCall: number;
  /** CPU time of the main (JavaScript) thread alone per call, µs (one /proc clock tick, 10 ms, over the whole run). */
  mainCpuUsPerCall: number;
  /** Garbage collections during the calls: scavenges (young generation), mark-compacts (whole heap), and their pause time per call, µs. */
  gc: { scavenges: number; markCompacts: number; pauseUsPerCall: number };
}

/** User + system CPU time of the main thread so far, µs (0 where /proc cannot be read). */
function mainThreadCpuUs(): number {
  return statCpuUs(`/proc/self/task/${process.pid}/stat`) ?? 0;
}

/**
 * Sends `calls` authenticated JSON `GET /api/hello` (the headers of the bench's load) to `handler`.
 * @throws when a call answers anything but 200.
 */
export async function callInProcess(handler: http.RequestListener, o: InProcessOptions): Promise<InProcessResult> {
  const headers = { host: o.host, cookie: o.cookie, 'x-csrf': '1', accept: 'application/json' };
  const call = (socket: DiscardingSocket) => new Promise<void>((resolve, reject) => {
    const req = new http.IncomingMessage(socket as never);
    req.method = 'GET';
    req.url = '/api/hello';
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = { ...headers };
    req.complete = true;
    req.push(null);
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as never);
    res.on('finish', () => {
      res.detachSocket(socket as never);
      if (res.statusCode === 200) resolve();
      // The status line only: the rest of the answer may carry a Set-Cookie.
      else reject(new Error(`GET /api/hello answered ${res.statusCode}: ${socket.last.split('\r\n', 1)[0]}`));
    });
    handler(req, res);
  });
  const perWorker = Math.ceil(o.calls / o.concurrency);
  const gc = { scavenges: 0, markCompacts: 0, pauseMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.scavenges++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.markCompacts++;
      gc.pauseMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const mainCpu = mainThreadCpuUs();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    const socket = new DiscardingSocket();
    for (let i = 0; i < perWorker; i++) await call(socket);
  }));
  const wallNs = Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  const mainUsed = mainThreadCpuUs() - mainCpu;
  // Entries are delivered asynchronously: let the last ones arrive.
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  const calls = perWorker * o.concurrency;
  return {
    calls,
    cpuUsPerCall: (used.user + used.system) / calls,
    wallUsPerCall: wallNs / 1000 / calls,
    mainCpuUsPerCall: mainUsed / calls,
    gc: { scavenges: gc.scavenges, markCompacts: gc.markCompacts, pauseUsPerCall: (gc.pauseMs * 1000) / calls },
  };
}
