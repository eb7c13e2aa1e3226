/**
 * `npx tsx --conditions=koa-oidc-bff-source bench/telemetry-together.ts [ab|aa|am] [runs] [seconds] [store]`:
 * how far `npm run bench`'s telemetry comparison can be trusted. Starts two app servers (`store`:
 * memory, the default, or sqlite, a database file for each; bench/server.ts, pinned to the same
 * core): `ab`, one without an SDK and one with the
 * demo's SDK as the bench runs it (metrics, traces sampled at 1 % to a stand-in collector); `am`,
 * the second with metrics alone (Prometheus endpoint, no tracer provider); `aa`, two without (an A/A check: whatever differs is the method's noise). Logs 100 users in on each,
 * then loads the authenticated JSON call of both, `runs` times for `seconds` each, first both at
 * the same time (the bench's target figure), then one after the other, and prints each run's
 * req/s and server CPU time per request (all threads, /proc) and the difference.
 */
import { loginMany } from './logins.ts';
import type { LoadTarget } from './load-worker.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { choosePlacement, runLoad, ServerProcess } from './processes.ts';
import type { StoreName } from './protocol.ts';

const mode = process.argv[2] ?? 'ab';
const runs = Number(process.argv[3] ?? 6);
const seconds = Number(process.argv[4] ?? 4);
const store = (process.argv[5] ?? 'memory') as StoreName;
if (!['ab', 'aa', 'am'].includes(mode) || !Number.isInteger(runs) || runs < 1 || !(seconds >= 1) || !['memory', 'sqlite'].includes(store)) {
  process.stderr.write('usage: bench/telemetry-together.ts [ab|aa|am] [runs >= 1] [seconds >= 1] [memory|sqlite]\n');
  process.exit(2);
}
const JSON_HEADERS = { 'x-csrf': '1', accept: 'application/json' };
const pct = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`;

const sink = await startOtlpSink();
const placement = choosePlacement();
const a = await ServerProcess.start(store, placement, {});
const b = await ServerProcess.start(store, placement, mode === 'aa' ? {} : { otlpUrl: sink.url, metricsOnly: mode === 'am' });
try {
  const target = async (name: string, server: ServerProcess): Promise<LoadTarget> => ({
    name, url: server.ready.appUrl, serverPid: server.ready.pid, path: '/api/hello', headers: JSON_HEADERS,
    cookies: (await loginMany(server.ready.appUrl, 100, 10)).map((l) => l.cookie),
  });
  const ta = await target('a', a);
  const tb = await target('b', b);
  await runLoad({ url: ta.url!, connections: 32, warmupSeconds: 3, seconds: 1, rounds: 0, targets: [ta, tb] }, placement);
  for (const together of [true, false]) {
    for (let i = 0; i < runs; i++) {
      const results = await runLoad({ url: ta.url!, connections: 32, warmupSeconds: 0, seconds, rounds: 1, settleMs: 300, together, targets: i % 2 ? [tb, ta] : [ta, tb] }, placement);
      const [ra, rb] = ['a', 'b'].map((n) => results.find((r) => r.name === n)!);
      const cpu = ra!.serverCpuUsPerRequest && rb!.serverCpuUsPerRequest ? `, CPU ${pct(rb!.serverCpuUsPerRequest / ra!.serverCpuUsPerRequest - 1)}` : '';
      process.stdout.write(`${together ? 'at the same time' : 'one after the other'}: a ${Math.round(ra!.rps)} req/s ${ra!.serverCpuUsPerRequest?.toFixed(1)} µs, b ${Math.round(rb!.rps)} req/s ${rb!.serverCpuUsPerRequest?.toFixed(1)} µs; b/a req/s ${pct(rb!.rps / ra!.rps - 1)}${cpu}\n`);
    }
  }
} finally {
  await a.close();
  await b.close();
  await sink.close();
}
