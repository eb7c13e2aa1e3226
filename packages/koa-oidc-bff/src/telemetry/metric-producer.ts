/**
 * The two histograms every authenticated request records into (`http_server_request_duration_seconds`
 * and `bff_session_store_duration_seconds`), aggregated by the package itself and handed to the
 * host's OpenTelemetry metric reader as a MetricProducer (OpenTelemetry metrics SDK specification,
 * "MetricProducer"; the JavaScript SDK's `metricProducers` reader option).
 *
 * Why: the metrics SDK hashes the attribute set of every `Histogram.record` (sorted keys, then
 * JSON) before it finds the series; in the demo's server that cost 1.1 to 2.3 µs per value even
 * in a batch, about 8 % of an authenticated call without HTTP. Here a value costs a lookup by
 * the identity of the label object (the package reuses one frozen object per label set) and a
 * bucket search: tens of nanoseconds.
 *
 * Opt-in, because only the host can register a producer: call {@link bffMetricProducer} and give
 * its result to the reader (`new PrometheusExporter({ metricProducers: [bffMetricProducer()] })`)
 * before creating the BFF. A BFF created after that records into it; without it, the package
 * records these histograms through the metrics API like every other instrument.
 *
 * What a reader gets is what the SDK's own explicit-bucket histogram aggregation would give for
 * the same values: cumulative points (start time: when the producer was created) with bucket
 * counts (a value equal to a boundary counts in that boundary's bucket), count, sum, min, max.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import type { HotHistogram } from './hot-histograms.ts';

/** The `DataPointType.HISTOGRAM` and `AggregationTemporality.CUMULATIVE` values of the metrics SDK. */
const HISTOGRAM = 0;
const CUMULATIVE = 1;

/** One label set's aggregate. */
interface Cell {
  readonly attributes: Attributes;
  /** One count per bucket: boundaries.length + 1 (the last is above every boundary). */
  readonly counts: Float64Array;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Structurally the metrics SDK's `HistogramMetricData` (kept here: the package depends on the API alone). */
interface HistogramData {
  descriptor: { name: string; description: string; unit: string; valueType: ValueType };
  aggregationTemporality: typeof CUMULATIVE;
  dataPointType: typeof HISTOGRAM;
  dataPoints: {
    attributes: Attributes;
    startTime: HrTime;
    endTime: HrTime;
    value: { buckets: { boundaries: number[]; counts: number[] }; count: number; sum: number; min: number | undefined; max: number | undefined };
  }[];
}

/**
 * A MetricProducer (what a metric reader's `metricProducers` option takes). Its `collect` resolves
 * to the package's pre-aggregated histograms under the instrumentation scope `koa-oidc-bff`; the
 * reader keeps its own resource, so the resource here is empty.
 */
export interface BffMetricProducer {
  collect(options?: { timeoutMillis?: number }): Promise<{
    // `any`: assignable to the SDK's Resource type without depending on it; the reader keeps the
    // SDK's own resource and drops this one (MetricReader.collect), so an empty object is returned.
    resourceMetrics: { resource: any; scopeMetrics: { scope: { name: string; version?: string }; metrics: HistogramData[] }[] };
    errors: unknown[];
  }>;
}

/** The process's producer, once a host asked for it. */
let shared: (BffMetricProducer & { histogram(name: string, description: string, boundaries: readonly number[]): HotHistogram }) | undefined;

/** Milliseconds since the epoch as an OpenTelemetry HrTime ([seconds, nanoseconds]). */
function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function createProducer(version: string) {
  const startTime = hrTime(performance.timeOrigin + performance.now());
  const histograms: { descriptor: HistogramData['descriptor']; boundaries: number[]; cells: Map<Attributes, Cell> }[] = [];
  const byName = new Map<string, HotHistogram>();
  return {
    /** The histogram `name`: made on the first call, the same one for every BFF of the process afterwards. */
    histogram(name: string, description: string, boundaries: readonly number[]): HotHistogram {
      const existing = byName.get(name);
      if (existing) return existing;
      const bounds = [...boundaries];
      const cells = new Map<Attributes, Cell>();
      histograms.push({ descriptor: { name, description, unit: 's', valueType: ValueType.DOUBLE }, boundaries: bounds, cells });
      const n = bounds.length;
      const empty: Attributes = Object.freeze({});
      const histogram: HotHistogram = {
        record(value: number, attributes: Attributes = empty): void {
          if (Number.isNaN(value)) return;
          let cell = cells.get(attributes);
          if (cell === undefined) {
            cell = { attributes: Object.freeze({ ...attributes }), counts: new Float64Array(n + 1), count: 0, sum: 0, min: Infinity, max: -Infinity };
            cells.set(attributes, cell);
          }
          // The first boundary >= value (the SDK's binarySearchUB): a linear scan of 14 numbers.
          let i = 0;
          while (i < n && bounds[i]! < value) i++;
          cell.counts[i]!++;
          cell.count++;
          cell.sum += value;
          if (value < cell.min) cell.min = value;
          if (value > cell.max) cell.max = value;
        },
      };
      byName.set(name, histogram);
      return histogram;
    },
    async collect() {
      const endTime = hrTime(performance.timeOrigin + performance.now());
      const metrics: HistogramData[] = histograms.map(({ descriptor, boundaries, cells }) => ({
        descriptor,
        aggregationTemporality: CUMULATIVE,
        dataPointType: HISTOGRAM,
        // Label sets with the same values (from two BFFs, or two cached objects) are one series.
        dataPoints: [...merged(cells.values())].map((c) => ({
          attributes: c.attributes,
          startTime,
          endTime,
          value: { buckets: { boundaries: [...boundaries], counts: Array.from(c.counts) }, count: c.count, sum: c.sum, min: c.count > 0 ? c.min : undefined, max: c.count > 0 ? c.max : undefined },
        })),
      }));
      return { resourceMetrics: { resource: {}, scopeMetrics: [{ scope: { name: 'koa-oidc-bff', version }, metrics }] }, errors: [] };
    },
  };
}

/** Cells whose attributes hold the same values, summed (by a key built at collection time only). */
function* merged(cells: Iterable<Cell>): Iterable<Cell> {
  const byKey = new Map<string, Cell>();
  for (const c of cells) {
    const key = JSON.stringify(Object.keys(c.attributes).sort().map((k) => [k, c.attributes[k]]));
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { ...c, counts: c.counts.slice() });
      continue;
    }
    for (let i = 0; i < c.counts.length; i++) seen.counts[i]! += c.counts[i]!;
    seen.count += c.count;
    seen.sum += c.sum;
    seen.min = Math.min(seen.min, c.min);
    seen.max = Math.max(seen.max, c.max);
  }
  yield* byKey.values();
}

/**
 * The package's metric producer, created on the first call and the same object afterwards (one
 * per process). Give it to the host's metric reader(s) (`metricProducers` option) before creating
 * the BFF: every BFF created afterwards aggregates its per-request histograms here instead of
 * recording them through the metrics API. Needs an SDK MeterProvider as well (the other
 * instruments go through the API).
 */
export function bffMetricProducer(): BffMetricProducer {
  shared ??= createProducer('0.1.0');
  return shared;
}

/**
 * The producer's histogram `name`, when a host asked for the producer; undefined otherwise. Its
 * `record(seconds, attributes)` finds the series by the identity of `attributes`, so each label
 * set must be one object, reused (the package's label caches are); NaN is ignored, as the SDK
 * ignores it.
 */
export function producedHistogram(name: string, description: string, boundaries: readonly number[]): HotHistogram | undefined {
  return shared?.histogram(name, description, boundaries);
}
