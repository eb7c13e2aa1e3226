/**
 * `npx tsx --conditions=koa-oidc-bff-source bench/telemetry-in-process.ts [calls] [runs]`: what
 * OpenTelemetry costs the authenticated call when HTTP is left out. Three app servers (memory
 * store, bench/server.ts) are started: without an SDK, with the demo's SDK as `npm run bench`
 * runs it (Prometheus endpoint, OTLP/HTTP metrics and traces sampled at 1 % to a stand-in
 * collector), and with metrics alone (Prometheus endpoint, no tracer provider). Each logs one user
 * in over real HTTP, then sends `calls` authenticated JSON calls to its own Koa handler in its
 * process (bench/in-process.ts), 10 at a time, `runs` times, the servers taking turns in reversed
 * order every other run, after one untimed run each. Prints the median CPU time per call of each
 * and the cost against the server without an SDK, its main thread's share and garbage collections,
 * then the same comparison inside one process (the SDK's server also holds an app created before
 * the SDK started, so without telemetry; the two are called in turn, `runs` x 4 pairs of
 * calls / 10), as text and as JSON on the last line.
 * A diagnostic beside `npm run bench`: over HTTP on this 2-core machine the same comparison moved
 * by ±10 µs per call between runs, this one by about ±5 µs.
 */
import { loginOnce } from './logins.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { choosePlacement, ServerProcess } from './processes.ts';
import type { InProcessResult } from './in-process.ts';
import { median } from './stats.ts';

const calls = Number(process.argv[2] ?? 30_000);
const runs = Number(process.argv[3] ?? 7);
if (!Number.isInteger(calls) || calls < 10 || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: bench/telemetry-in-process.ts [calls >= 10] [runs >= 1]\n');
  process.exit(2);
}

const sink = await startOtlpSink();
const otlpUrl = sink.url;
const placement = choosePlacement();
const variants = [
  { name: 'without an SDK', options: {} },
  { name: 'metrics and 1 % traces', options: { otlpUrl, twin: true } },
  { name: 'metrics alone', options: { otlpUrl, metricsOnly: true } },
];
const servers: { name: string; server: ServerProcess; cookie: string; cpu: number[]; results: InProcessResult[] }[] = [];
try {
  for (const v of variants) {
    const server = await ServerProcess.start('memory', placement, v.options);
    servers.push({ name: v.name, server, cookie: '', cpu: [], results: [] });
    servers.at(-1)!.cookie = (await loginOnce(server.ready.appUrl, 0)).cookie;
  }
  const run = (s: (typeof servers)[number]) => s.server.request<InProcessResult>({ cmd: 'in-process', cookie: s.cookie, calls, concurrency: 10 }, 600_000);
  for (const s of servers) await run(s);
  for (let i = 0; i < runs; i++) {
    for (const s of i % 2 === 0 ? servers : [...servers].reverse()) {
      const r = await run(s);
      s.cpu.push(r.cpuUsPerCall);
      s.results.push(r);
    }
  }
  const base = median(servers[0]!.cpu);
  const figures = servers.map((s) => ({ name: s.name, cpuUsPerCall: Math.round(median(s.cpu) * 100) / 100, cost: Math.round((median(s.cpu) / base - 1) * 1000) / 1000, runs: s.cpu.map((x) => Math.round(x * 10) / 10) }));
  for (const f of figures) process.stdout.write(`${f.name.padEnd(24)} ${f.cpuUsPerCall.toFixed(1)} µs CPU per call (median of ${runs}; runs ${f.runs.join(' ')})${f === figures[0] ? '' : `, cost ${f.cost >= 0 ? '+' : ''}${(f.cost * 100).toFixed(1)} %`}\n`);
  for (const s of servers) {
    const m = (f: (r: InProcessResult) => number) => median(s.results.map(f));
    process.stdout.write(`${s.name.padEnd(24)} main thread ${m((r) => r.mainCpuUsPerCall).toFixed(1)} µs per call, other threads ${m((r) => r.cpuUsPerCall - r.mainCpuUsPerCall).toFixed(1)} µs; per run ${m((r) => r.gc.scavenges)} scavenges, ${m((r) => r.gc.markCompacts)} mark-compacts, GC pauses ${m((r) => r.gc.pauseUsPerCall).toFixed(2)} µs per call (medians)\n`);
  }
  // The same comparison inside one process: the server with the SDK also holds an app without
  // telemetry (created before the SDK started), called in turn with its own app. What differs is
  // only the per-request work of the package's instruments: the machine, the process, its heap and
  // compiled code are the same, and the SDK's background work (exports) falls on both.
  const withSdk = servers[1]!;
  const pairs: { off: number; on: number }[] = [];
  const one = (twin: boolean) => withSdk.server.request<InProcessResult>({ cmd: 'in-process', cookie: withSdk.cookie, calls: Math.ceil(calls / 10), concurrency: 10, twin }, 600_000);
  for (let i = 0; i < 2; i++) { await one(true); await one(false); }
  for (let i = 0; i < runs * 4; i++) {
    const off = i % 2 === 0 ? (await one(true)).cpuUsPerCall : undefined;
    const on = (await one(false)).cpuUsPerCall;
    pairs.push({ off: off ?? (await one(true)).cpuUsPerCall, on });
  }
  const sameProcess = {
    withoutUsPerCall: Math.round(median(pairs.map((p) => p.off)) * 100) / 100,
    withUsPerCall: Math.round(median(pairs.map((p) => p.on)) * 100) / 100,
    cost: Math.round(median(pairs.map((p) => p.on / p.off - 1)) * 1000) / 1000,
  };
  process.stdout.write(`same process, ${pairs.length} pairs of ${Math.ceil(calls / 10)} calls: ${sameProcess.withoutUsPerCall.toFixed(1)} µs without the package's instruments, ${sameProcess.withUsPerCall.toFixed(1)} µs with metrics and 1 % traces, cost ${sameProcess.cost >= 0 ? '+' : ''}${(sameProcess.cost * 100).toFixed(1)} % (median of the pairs' own ratios)\n`);
  process.stdout.write(`${JSON.stringify({ calls, runs, figures, sameProcess })}\n`);
} finally {
  for (const s of servers) await s.server.close();
  await sink.close();
}
