/**
 * The batched hot histograms (src/telemetry/hot-histograms.ts) on the real metrics SDK: values
 * wait in the batch until 256 have gathered, every collection sees all of them first, and the
 * histogram holds exactly what was recorded.
 */
import type { Histogram } from '@opentelemetry/api';
import { MeterProvider, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import test from 'ava';
import { BATCH, hotHistograms } from '../src/telemetry/hot-histograms.ts';

async function setup() {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  const real = meter.createHistogram('hot_seconds', { unit: 's' });
  // Counts what reaches the SDK's histogram.
  let reached = 0;
  const counted: Histogram = { record: (value, attributes) => { reached++; real.record(value, attributes); } };
  const histogram = hotHistograms(meter)(counted);
  const collect = async () => {
    const { resourceMetrics } = await reader.collect();
    const data = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === 'hot_seconds') as HistogramMetricData[];
    return { names: resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)), points: data.flatMap((m) => m.dataPoints) };
  };
  return { histogram, reached: () => reached, collect, close: () => provider.shutdown() };
}

test('values wait in the batch until it is full, then reach the SDK together', async (t) => {
  const s = await setup();
  try {
    for (let i = 0; i < BATCH - 1; i++) s.histogram.record(0.002, { op: 'get' });
    t.is(s.reached(), 0, 'nothing recorded into the SDK before the batch is full');
    s.histogram.record(0.002, { op: 'get' });
    t.is(s.reached(), BATCH);
  } finally {
    await s.close();
  }
});

test('a collection sees every value recorded before it, with its attributes; the hook itself is never exported', async (t) => {
  const s = await setup();
  try {
    s.histogram.record(0.002, { op: 'get' });
    s.histogram.record(0.004, { op: 'get' });
    s.histogram.record(0.5, { op: 'create' });
    const { names, points } = await s.collect();
    t.is(s.reached(), 3);
    const byOp = new Map(points.map((p) => [p.attributes.op, p.value]));
    t.is(byOp.get('get')?.count, 2);
    t.is(Math.round((byOp.get('get')?.sum ?? 0) * 1000), 6);
    t.is(byOp.get('create')?.count, 1);
    t.false(names.some((n) => n.includes('flush')), names.join(', '));
    // Nothing is recorded twice: the next collection holds the same cumulative counts.
    const again = await s.collect();
    t.is(new Map(again.points.map((p) => [p.attributes.op, p.value.count])).get('get'), 2);
  } finally {
    await s.close();
  }
});
