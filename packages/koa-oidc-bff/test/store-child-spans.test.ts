/**
 * A sampled request's store calls become its child spans when the request's span ends
 * (src/telemetry/request-span.ts), with the calls' own times and outcome; a call that ends after
 * its request is made at once; an unsampled request makes none. The real trace SDK (always-on or
 * always-off sampler, spans kept in memory) and the real memory store behind the package's store
 * wrapper.
 */
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type Sampler } from '@opentelemetry/sdk-trace-base';
import test from 'ava';
import type { SessionStore } from '../src/session/store.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { endChildSpans, inRequestSpan, setRequestSpan } from '../src/telemetry/request-span.ts';
import { instrumentStore } from '../src/telemetry/store-proxy.ts';
import { createTelemetry } from '../src/telemetry/telemetry.ts';

function setup(sampler: Sampler) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  const telemetry = createTelemetry();
  const inner = createMemoryStore();
  // get() fails for the id 'broken', as a store outage would; ping() answers when released.
  const gate: { release?: () => void } = {};
  const failing: SessionStore = {
    ...inner,
    get: (id, now) => (id === 'broken' ? Promise.reject(new TypeError('simulated')) : inner.get(id, now)),
    ping: () => new Promise<void>((resolve) => { gate.release = resolve; }),
  };
  const store = instrumentStore(failing, telemetry);
  return {
    telemetry,
    store,
    gate,
    exporter,
    async close() {
      trace.disable();
      await inner.close();
      await provider.shutdown();
    },
  };
}

test.serial('the calls of a sampled request are its children when it ends, with their own times and outcome', async (t) => {
  const s = setup(new AlwaysOnSampler());
  try {
    const request = {};
    const server = s.telemetry.tracer.startSpan('GET /x', {}, ROOT_CONTEXT);
    setRequestSpan(request, server, ROOT_CONTEXT);
    await inRequestSpan(request, (id: string, now: number) => s.store.get(id, now), 'missing', Date.now());
    await t.throwsAsync(inRequestSpan(request, (id: string, now: number) => s.store.get(id, now), 'broken', Date.now()));
    t.deepEqual(s.exporter.getFinishedSpans().map((x) => x.name), [], 'nothing made while the request runs');
    // A call started in the request that ends after it.
    const late = inRequestSpan(request, () => s.store.ping!(), undefined, undefined);
    endChildSpans(request, s.telemetry.tracer);
    server.end();
    const made = s.exporter.getFinishedSpans();
    t.deepEqual(made.map((x) => x.name), ['session_store get', 'session_store get', 'GET /x']);
    const [ok, failed] = made;
    for (const child of [ok!, failed!]) {
      t.is(child.parentSpanContext?.spanId, server.spanContext().spanId);
      t.true(child.startTime[0] * 1e9 + child.startTime[1] <= child.endTime[0] * 1e9 + child.endTime[1]);
    }
    t.is(ok!.status.code, SpanStatusCode.UNSET);
    t.deepEqual(failed!.status, { code: SpanStatusCode.ERROR, message: 'TypeError' });
    t.is(failed!.attributes['db.operation.name'], 'get');
    // The late call's span is made when the call ends, under the same parent.
    s.gate.release!();
    await late;
    const ping = s.exporter.getFinishedSpans().find((x) => x.name === 'session_store ping');
    t.is(ping?.parentSpanContext?.spanId, server.spanContext().spanId);
  } finally {
    await s.close();
  }
});

test.serial('an unsampled request makes no child span', async (t) => {
  const s = setup(new AlwaysOffSampler());
  try {
    const request = {};
    const server = s.telemetry.tracer.startSpan('GET /x', {}, ROOT_CONTEXT);
    setRequestSpan(request, server, ROOT_CONTEXT);
    await inRequestSpan(request, (id: string, now: number) => s.store.get(id, now), 'missing', Date.now());
    endChildSpans(request, s.telemetry.tracer);
    server.end();
    t.deepEqual(s.exporter.getFinishedSpans(), []);
  } finally {
    await s.close();
  }
});
