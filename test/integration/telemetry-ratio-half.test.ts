/**
 * The demo's SDK wiring with `OTEL_TRACES_SAMPLER=parentbased_traceidratio` at 0.5, over real HTTP
 * to an OTLP receiver: about half of the requests are exported, each under a trace-id the SDK's
 * own ratio rule samples. The fast root path decides a trace and hands its id to the NodeSDK's
 * tracer; were that id not the one the SDK starts with, the SDK would decide again on another id
 * and only about a quarter would be exported.
 */
import test from 'ava';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

let receiver: OtlpReceiver;
let telemetry: RunningTelemetry;
let stack: Stack;

test.before(async () => {
  receiver = await startOtlpReceiver();
  telemetry = await startDemoTelemetry(receiver, { env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5', OTEL_BSP_SCHEDULE_DELAY: '50' } });
  stack = await startStack();
});

test.after.always(async () => {
  await stack?.close();
  await telemetry?.shutdown();
  await receiver?.close();
});

/** The SDK's ratio-sampler value of a trace-id: the XOR of its four 32-bit words. */
const xorOfWords = (traceId: string) => [0, 8, 16, 24].reduce((x, i) => (x ^ parseInt(traceId.slice(i, i + 8), 16)) >>> 0, 0);

test('about half of 300 requests are exported, each trace-id sampled by the SDK rule', async (t) => {
  const n = 300;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${stack.appUrl}/healthz`);
    t.is(res.status, 200);
    await res.arrayBuffer();
  }
  await telemetry.flush();
  const roots = receiver.spans.filter((s) => s.name === 'GET /healthz' && s.parentSpanId === undefined);
  // Binomial(300, 0.5): mean 150, sd about 8.7; broken hand-over: mean 75.
  t.true(roots.length > 112 && roots.length < 188, `${roots.length} of ${n} exported`);
  t.is(new Set(roots.map((s) => s.traceId)).size, roots.length);
  for (const s of roots) t.true(xorOfWords(s.traceId) < Math.floor(0.5 * 0xffffffff), s.traceId);
});
