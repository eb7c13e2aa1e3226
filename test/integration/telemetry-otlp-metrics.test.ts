/**
 * Metrics over OTLP/HTTP beside the Prometheus endpoint, as the demo runs with both METRICS_PORT
 * and OTEL_EXPORTER_OTLP_ENDPOINT: exports come on the standard OTEL_METRIC_EXPORT_INTERVAL by
 * themselves, and carry the very numbers a scrape shows (one aggregation feeds both outputs).
 */
import test from 'ava';
import { histogramCount, scrape, value } from '../helpers/metrics.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../helpers/otlp-receiver.ts';
import { startStack, type Stack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';
import { startDemoTelemetry } from '../helpers/telemetry.ts';
import type { RunningTelemetry } from '../../src/telemetry.ts';

let receiver: OtlpReceiver;
let telemetry: RunningTelemetry;
let stack: Stack;

test.before(async () => {
  receiver = await startOtlpReceiver();
  // The standard variables, as the demo's environment would have them (the exporters read them);
  // no traces wanted here: only metrics are compared.
  telemetry = await startDemoTelemetry(receiver, { env: { OTEL_METRIC_EXPORT_INTERVAL: '300', OTEL_TRACES_SAMPLER: 'always_off' }, metrics: true });
  stack = await startStack();
});

test.after.always(async () => {
  await stack?.close();
  await telemetry?.shutdown();
  await receiver?.close();
});

const point = (points: ReceivedPoint[] | undefined, name: string, attributes: Record<string, string | number>) =>
  (points ?? []).filter((p) => p.name === name && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)).reduce((sum, p) => sum + p.value, 0);

test.serial('exports arrive every OTEL_METRIC_EXPORT_INTERVAL ms without a flush, and hold what a scrape shows', async (t) => {
  const ua = new UserAgent(stack.appUrl);
  await ua.login('alice', 'alice-password', '/');
  for (let i = 0; i < 3; i++) t.is((await ua.hx('/api/hello', '/')).statusCode, 200);

  // By the interval alone (the SDK's default would be a minute).
  const loggedIn = () => point(receiver.metricExports.at(-1), 'bff_logins_completed_total', { outcome: 'success' }) >= 1;
  const deadline = Date.now() + 10_000;
  while (!loggedIn() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  t.true(loggedIn(), `the login came by a periodic export within 10 s (${receiver.metricExports.length} exports)`);

  await telemetry.flush();
  const exported = receiver.metricExports.at(-1);
  const scraped = await scrape(telemetry.metricsUrl!);
  const hello = { 'http.request.method': 'GET', 'http.route': '/api/hello', 'http.response.status_code': 200 };
  t.is(point(exported, 'http_server_request_duration_seconds', hello), 3);
  t.is(histogramCount(scraped, 'http_server_request_duration_seconds', { http_request_method: 'GET', http_route: '/api/hello', http_response_status_code: '200' }), 3);
  t.is(point(exported, 'bff_logins_completed_total', { outcome: 'success' }), value(scraped, 'bff_logins_completed_total', { outcome: 'success' }));
  t.is(point(exported, 'bff_logins_started_total', {}), value(scraped, 'bff_logins_started_total'));
  t.true(point(exported, 'bff_session_store_duration_seconds', { op: 'get' }) >= 3);
});
