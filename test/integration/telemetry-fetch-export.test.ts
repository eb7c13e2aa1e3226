/**
 * The demo's OTLP exports leave through `fetch`, never through node:http's client: a
 * `ClientRequest` would run the very functions of Node's HTTP module the app's responses run, and
 * slow them for good (src/telemetry-fetch-export.ts). Node announces every request of its own HTTP
 * client on the diagnostics channel `http.client.request.start`, and `fetch` (undici) every one of
 * its own on `undici:request:create`.
 */
import { trace } from '@opentelemetry/api';
import test from 'ava';
import { recordClientRequests, type ClientRequests } from '../helpers/client-requests.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

let receiver: OtlpReceiver;
let telemetry: RunningTelemetry;
let requests: ClientRequests;

test.before(async () => {
  requests = recordClientRequests();
  receiver = await startOtlpReceiver();
  telemetry = await startDemoTelemetry(receiver, { env: { OTEL_TRACES_SAMPLER: 'always_on' }, metrics: true });
});

test.after.always(async () => {
  requests?.stop();
  await telemetry?.shutdown();
  await receiver?.close();
});

test('spans and metrics reach the collector through fetch; node:http sends nothing', async (t) => {
  const span = trace.getTracer('fetch-export-test').startSpan('exported through fetch');
  span.end();
  await telemetry.flush();
  t.true(receiver.spans.some((s) => s.name === 'exported through fetch'), 'the span arrived');
  t.true(receiver.metricExports.length >= 1, 'a metrics export arrived');
  t.true(requests.fetch.includes('/v1/traces'), `fetch posted the spans (${requests.fetch.join(', ')})`);
  t.true(requests.fetch.includes('/v1/metrics'), 'fetch posted the metrics');
  t.deepEqual(requests.nodeHttp, [], 'no request through node:http');
});
