/**
 * The histograms every authenticated request records into (the HTTP server duration and the
 * session store durations), recorded in batches when the host did not register the package's
 * metric producer (metric-producer.ts, which aggregates them without the SDK). The SDK's `record` hashes the attribute set on
 * every call; called 256 times in one loop it costs less than called from each request (metrics
 * alone, paced at 6,000 req/s, memory store: +10.6 % of server CPU per authenticated call instead
 * of +12 to +15 %). Nothing is lost or late for a reader: the values reach
 * the SDK when 256 have gathered, and before every collection (a scrape, an OTLP export), through
 * an observable instrument's callback, which the SDK runs before it reads the synchronous
 * instruments. That instrument never observes anything, so it is never exported.
 */
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';

/** What the package calls on a hot histogram: `record(seconds, attributes)`, as on a Histogram. */
export type HotHistogram = Pick<Histogram, 'record'>;

/** Values kept before they are handed to the SDK in one loop. */
export const BATCH = 256;

/**
 * Creates the batch of one meter and registers its collection hook on `meter`; returns the
 * function that wraps each hot histogram.
 */
export function hotHistograms(meter: Meter): (histogram: Histogram) => HotHistogram {
  const values = new Float64Array(BATCH);
  const targets: (Histogram | undefined)[] = new Array<Histogram | undefined>(BATCH).fill(undefined);
  const attributes: (Attributes | undefined)[] = new Array<Attributes | undefined>(BATCH).fill(undefined);
  let kept = 0;
  const flush = () => {
    const n = kept;
    kept = 0;
    for (let i = 0; i < n; i++) {
      targets[i]!.record(values[i]!, attributes[i]);
      targets[i] = undefined;
      attributes[i] = undefined;
    }
  };
  meter.createObservableGauge('koa_oidc_bff_batch_flush', { description: 'Never observed: its callback hands batched histogram values to the SDK before each collection.' }).addCallback(flush);
  return (histogram) => ({
    record(value: number, attrs?: Attributes) {
      values[kept] = value;
      targets[kept] = histogram;
      attributes[kept] = attrs;
      if (++kept === BATCH) flush();
    },
  });
}
