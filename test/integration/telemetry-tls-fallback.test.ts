/**
 * With an OTLP TLS file setting (here `OTEL_EXPORTER_OTLP_CERTIFICATE`), which `fetch` cannot take,
 * the demo exports through the SDK's own exporters (node:http/https), which read the file
 * themselves: the exports still arrive, and Node's HTTP client sends them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import test from 'ava';
import { loadConfig } from '../../src/config.ts';
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
  // A root certificate file (read by the SDK's exporter; unused on this plain-http receiver).
  const ca = path.join(mkdtempSync(path.join(os.tmpdir(), 'bff-otlp-ca-')), 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nnot used over http\n-----END CERTIFICATE-----\n');
  const env = { OTEL_EXPORTER_OTLP_CERTIFICATE: ca, OTEL_TRACES_SAMPLER: 'always_on' };
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: path.dirname(ca), ...env });
  telemetry = await startDemoTelemetry(receiver, { env, metrics: true, tlsFiles: config.otlpTlsFiles.traces && config.otlpTlsFiles.metrics });
});

test.after.always(async () => {
  requests?.stop();
  await telemetry?.shutdown();
  await receiver?.close();
});

test('spans and metrics reach the collector through node:http, not fetch', async (t) => {
  trace.getTracer('tls-fallback-test').startSpan('exported through node:http').end();
  await telemetry.flush();
  t.true(receiver.spans.some((s) => s.name === 'exported through node:http'), 'the span arrived');
  t.true(receiver.metricExports.length >= 1, 'a metrics export arrived');
  t.true(requests.nodeHttp.includes('/v1/traces') && requests.nodeHttp.includes('/v1/metrics'), `node:http posted both (${requests.nodeHttp.join(', ')})`);
  t.deepEqual(requests.fetch, [], 'nothing through fetch');
});
