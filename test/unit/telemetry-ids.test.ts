/**
 * The demo's trace and span ids (src/telemetry-ids.ts): W3C Trace Context ids, valid for the
 * OpenTelemetry API, distinct, across refills of the random pool.
 */
import { isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import test from 'ava';
import { PooledRandomIdGenerator } from '../../src/telemetry-ids.ts';

test('trace ids are 32 and span ids 16 lowercase hex characters, valid and distinct across pool refills', (t) => {
  const ids = new PooledRandomIdGenerator();
  const seen = new Set<string>();
  // 16 KiB pool: 3,000 rounds of 24 bytes refill it four times.
  for (let i = 0; i < 3000; i++) {
    const traceId = ids.generateTraceId();
    const spanId = ids.generateSpanId();
    t.regex(traceId, /^[0-9a-f]{32}$/);
    t.regex(spanId, /^[0-9a-f]{16}$/);
    if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) t.fail(`invalid: ${traceId} ${spanId}`);
    seen.add(traceId);
    seen.add(spanId);
  }
  t.is(seen.size, 6000);
});

test('two generators draw different ids', (t) => {
  t.not(new PooledRandomIdGenerator().generateTraceId(), new PooledRandomIdGenerator().generateTraceId());
});
