/**
 * The load generator, in its own process so it never shares an event loop (or, pinned with
 * taskset, a core) with the server. Reads a {@link LoadPlan} as JSON on stdin, runs autocannon for
 * each target (warm-up first, then the measured rounds, alternating targets; a target may name
 * another server than the plan's, e.g. the bare Koa reference), and writes
 * {@link LoadResult}s as JSON on stdout.
 *
 * Latency is recorded from autocannon's per-response times (float milliseconds) into a
 * microsecond histogram: autocannon's own histogram has 1 ms resolution, too coarse here.
 */
import { createHistogram } from 'node:perf_hooks';
import { text } from 'node:stream/consumers';
import autocannon from 'autocannon';
import { statCpuUs } from './proc-cpu.ts';

export interface LoadTarget {
  /** Label in the results, e.g. `healthz`. */
  name: string;
  path: string;
  headers?: Record<string, string>;
  /** Cookie header values to rotate through: each connection cycles over all of them, each starting at its own offset. */
  cookies?: string[];
  /** The server to load, when not the plan's (e.g. the bare Koa reference, measured in the same plan). */
  url?: string;
  /** That server's pid, for its CPU time (default: the plan's `serverPid`). */
  serverPid?: number;
  /** Connections, when not the plan's. */
  connections?: number;
  /**
   * Requests per second offered in all (autocannon's `overallRate`), when set: a paced load instead
   * of one as fast as the server answers. Two servers offered the same rate get the same arrivals,
   * so their CPU time per request compares the work they do, not how busy the load generator was.
   */
  rate?: number;
  /**
   * false: no warm-up run for this target (an earlier target of the plan already warmed up the
   * same server and path, e.g. the same endpoint at another number of connections).
   */
  warmup?: boolean;
}

export interface LoadPlan {
  url: string;
  /** The server's pid: its CPU time is read from /proc around each measured run (Linux). */
  serverPid?: number;
  connections: number;
  /** Seconds of untimed load per target before measuring. */
  warmupSeconds: number;
  /** Seconds per measured run. */
  seconds: number;
  /** Measured runs per target, interleaved (A B A B) so drift on a busy machine hits both alike. */
  rounds: number;
  /**
   * Idle milliseconds before each run (default 0): the servers share one core, so the previous
   * server's after-load work (closing sockets, garbage collection) must not fall into the next run.
   */
  settleMs?: number;
  /**
   * true: in each round all targets are loaded at the same time instead of one after the other,
   * e.g. two servers pinned to one core: whatever the machine does during the run (another
   * tenant, a slower clock) falls on both alike, so their figures compare within the run.
   */
  together?: boolean;
  targets: LoadTarget[];
}

export interface LoadResult {
  name: string;
  /** Connections autocannon kept open. */
  connections: number;
  /** Requests per second over all rounds. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /**
   * Server CPU time (user + system, all threads, from /proc) per request, in microseconds: the
   * server's cost per request, which a busy machine disturbs far less than req/s. Undefined off Linux.
   */
  serverCpuUsPerRequest: number | undefined;
}

/** CPU time used so far by process `pid`, in microseconds (all its threads). */
function processCpuUs(pid: number | undefined): number | undefined {
  return pid ? statCpuUs(`/proc/${pid}/stat`) : undefined;
}

async function runOnce(plan: LoadPlan, target: LoadTarget, seconds: number) {
  if (plan.settleMs) await new Promise((resolve) => setTimeout(resolve, plan.settleMs));
  const histogram = createHistogram();
  const requests = (target.cookies ?? [undefined]).map((cookie) => ({
    method: 'GET' as const,
    path: target.path,
    headers: { ...target.headers, ...(cookie ? { cookie } : {}) },
  }));
  let clientIndex = 0;
  const connections = target.connections ?? plan.connections;
  const serverPid = target.serverPid ?? plan.serverPid;
  const instance = autocannon({
    url: target.url ?? plan.url,
    connections,
    duration: seconds,
    timeout: 10,
    ...(target.rate ? { overallRate: target.rate } : {}),
    requests,
    // Spread the sessions: connection k starts its cycle at session k * (n / connections).
    setupClient(client) {
      const offset = Math.floor((clientIndex++ * requests.length) / connections) % requests.length;
      client.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
    if (statusCode >= 200 && statusCode < 300) histogram.record(Math.max(1, Math.round(ms * 1000)));
  });
  const cpuBefore = processCpuUs(serverPid);
  const result = await instance;
  const cpuAfter = processCpuUs(serverPid);
  const cpuUs = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return { result, histogram, cpuUs };
}

async function main(): Promise<void> {
  const plan = JSON.parse(await text(process.stdin)) as LoadPlan;
  for (const target of plan.targets) if (plan.warmupSeconds > 0 && target.warmup !== false) await runOnce(plan, target, plan.warmupSeconds);
  const totals = new Map<string, { requests: number; seconds: number; non2xx: number; errors: number; timeouts: number; cpuUs: number | undefined; histogram: ReturnType<typeof createHistogram> }>();
  for (let round = 0; round < plan.rounds; round++) {
    const runs = plan.together
      ? await Promise.all(plan.targets.map(async (target) => ({ target, ...await runOnce(plan, target, plan.seconds) })))
      : undefined;
    for (const [i, target] of plan.targets.entries()) {
      const { result, histogram, cpuUs } = runs ? runs[i]! : await runOnce(plan, target, plan.seconds);
      const t = totals.get(target.name) ?? { requests: 0, seconds: 0, non2xx: 0, errors: 0, timeouts: 0, cpuUs: 0, histogram: createHistogram() };
      t.cpuUs = t.cpuUs === undefined || cpuUs === undefined ? undefined : t.cpuUs + cpuUs;
      t.requests += result.requests.total;
      t.seconds += result.duration;
      t.non2xx += result.non2xx;
      t.errors += result.errors;
      t.timeouts += result.timeouts;
      t.histogram.add(histogram);
      totals.set(target.name, t);
    }
  }
  const out: LoadResult[] = [...totals].map(([name, t]) => ({
    name,
    connections: plan.targets.find((target) => target.name === name)?.connections ?? plan.connections,
    rps: t.requests / t.seconds,
    p50Ms: t.histogram.percentile(50) / 1000,
    p99Ms: t.histogram.percentile(99) / 1000,
    requests: t.requests,
    non2xx: t.non2xx,
    errors: t.errors,
    timeouts: t.timeouts,
    seconds: t.seconds,
    serverCpuUsPerRequest: t.cpuUs === undefined ? undefined : t.cpuUs / t.requests,
  }));
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
