/**
 * The package's metric producer (src/telemetry/metric-producer.ts) on the real metrics SDK: what
 * a reader collects from it equals what the SDK's own explicit-bucket histogram gives for the same
 * values; the Prometheus exposition shows it under the usual names; and `createTelemetry` records
 * the per-request histograms into it only once a host asked for it (through the metrics API
 * before that). One test file, run serially: the producer is one per process.
 */
import { metrics, type Attributes } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import test from 'ava';
import { bffMetricProducer, producedHistogram } from '../src/telemetry/metric-producer.ts';
import { createTelemetry, SECONDS_BUCKETS } from '../src/telemetry/telemetry.ts';

/** Values on both sides of and exactly on bucket boundaries, below the first and above the last. */
const VALUES = [0.0004, 0.001, 0.0011, 0.0025, 0.003, 0.01, 0.0999, 0.1, 0.75, 1, 2.4999, 10, 12, Number.NaN];

function points(data: HistogramMetricData[] | undefined) {
  return new Map((data ?? []).flatMap((m) => m.dataPoints).map((p) => [JSON.stringify(p.attributes), p.value]));
}

async function collected(reader: PrometheusExporter, name: string): Promise<HistogramMetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name) as HistogramMetricData[];
}

test.serial('before a host asks for the producer, the per-request histograms go through the metrics API', async (t) => {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  try {
    t.is(producedHistogram('x_seconds', 'x', SECONDS_BUCKETS), undefined);
    const telemetry = createTelemetry();
    telemetry.httpDuration.record(0.003, Object.freeze({ 'http.request.method': 'GET', 'http.response.status_code': 200 }));
    const data = await collected(reader, 'http_server_request_duration_seconds');
    t.is(data.length, 1);
    t.is([...points(data).values()][0]?.count, 1);
  } finally {
    metrics.disable();
    await provider.shutdown();
  }
});

test.serial('a reader collects from the producer what the SDK aggregates for the same values', async (t) => {
  const reader = new PrometheusExporter({ preventServerStart: true, metricProducers: [bffMetricProducer()] });
  const provider = new MeterProvider({ readers: [reader] });
  try {
    t.is(bffMetricProducer(), bffMetricProducer(), 'one producer per process');
    const produced = producedHistogram('produced_seconds', 'Produced.', SECONDS_BUCKETS)!;
    t.is(producedHistogram('produced_seconds', 'Produced.', SECONDS_BUCKETS), produced, 'one histogram per name');
    const sdk = provider.getMeter('reference').createHistogram('reference_seconds', { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } });
    const get = Object.freeze({ op: 'get' });
    // The same values under an equal label set held by another object: one series.
    const getAgain = Object.freeze({ op: 'get' });
    const create: Attributes = Object.freeze({ op: 'create' });
    VALUES.forEach((v, i) => {
      produced.record(v, i % 3 === 0 ? getAgain : get);
      sdk.record(v, { op: 'get' });
      produced.record(v * 2, create);
      sdk.record(v * 2, { op: 'create' });
    });
    const mine = points(await collected(reader, 'produced_seconds'));
    const reference = points(await collected(reader, 'reference_seconds'));
    t.deepEqual([...mine.keys()].sort(), [...reference.keys()].sort());
    for (const [key, value] of reference) {
      const m = mine.get(key)!;
      t.deepEqual(m.buckets, value.buckets, key);
      t.is(m.count, value.count, key);
      // Equal up to rounding: two objects of one label set are summed apart, then together.
      t.true(Math.abs(m.sum! - value.sum!) < 1e-9, `${key}: ${m.sum} against ${value.sum}`);
      t.is(m.min, value.min, key);
      t.is(m.max, value.max, key);
    }
    t.is(mine.get('{"op":"get"}')?.count, VALUES.length - 1, 'NaN is not counted');
    // Cumulative: a second collection holds the same totals plus what came since.
    produced.record(0.002, get);
    t.is(points(await collected(reader, 'produced_seconds')).get('{"op":"get"}')?.count, VALUES.length);
  } finally {
    await provider.shutdown();
  }
});

test.serial('once a host asked for it, a BFF records its per-request histograms into the producer; the exposition shows them', async (t) => {
  const reader = new PrometheusExporter({ preventServerStart: true, metricProducers: [bffMetricProducer()] });
  const provider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(provider);
  try {
    const telemetry = createTelemetry();
    const labels = Object.freeze({ 'http.request.method': 'GET', 'http.route': '/api/hello', 'http.response.status_code': 200 });
    telemetry.httpDuration.record(0.003, labels);
    telemetry.httpDuration.record(0.2, labels);
    telemetry.storeDuration.record(0.0001, Object.freeze({ op: 'get' }));
    // One series per name: the SDK did not get an instrument of the same name.
    t.is((await collected(reader, 'http_server_request_duration_seconds')).length, 1);
    const text = await new Promise<string>((resolve) => {
      reader.getMetricsRequestHandler(
        {} as never,
        { statusCode: 0, setHeader() {}, end: (body: string) => resolve(body) } as never,
      );
    });
    t.regex(text, /^# TYPE http_server_request_duration_seconds histogram$/m);
    t.regex(text, /^http_server_request_duration_seconds_count\{[^}]*http_route="\/api\/hello"[^}]*\} 2$/m);
    t.regex(text, /^http_server_request_duration_seconds_bucket\{[^}]*le="0.005"\} 1$/m);
    t.regex(text, /^bff_session_store_duration_seconds_count\{[^}]*op="get"[^}]*\} 1$/m);
    t.is(text.match(/^# TYPE http_server_request_duration_seconds /gm)?.length, 1);
  } finally {
    metrics.disable();
    await provider.shutdown();
  }
});
