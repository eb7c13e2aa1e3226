/**
 * The demo's trace-id ratio sampling (src/telemetry-sampler.ts) against the real OpenTelemetry
 * SDK: every decision is the SDK's `TraceIdRatioBasedSampler`'s for the same trace-id; a dropped
 * root span is a valid non-recording span; a sampled one is recorded and exported by the SDK with
 * the trace-id it was decided on; spans with a parent follow it (parent-based).
 */
import { isSpanContextValid, isValidTraceId, ROOT_CONTEXT, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import test from 'ava';
import { PooledRandomIdGenerator } from '../../src/telemetry-ids.ts';
import { PooledTraceIdRatioSampler, ratioSamplingFromEnv, TraceIdRatio } from '../../src/telemetry-sampler.ts';

const sdkSampled = (ratio: number, traceId: string) => new TraceIdRatioBasedSampler(ratio).shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

test('the word read from the random bytes gives the SDK ratio sampler decision, at every ratio', (t) => {
  const ids = new PooledRandomIdGenerator();
  for (const ratio of [0, 0.01, 0.25, 0.5, 0.999, 1]) {
    const sampler = new PooledTraceIdRatioSampler(new TraceIdRatio(ratio), ids);
    let sampled = 0;
    for (let i = 0; i < 3000; i++) {
      const traceId = ids.traceIdWithWord(ids.nextWord());
      const mine = sampler.shouldSample(ROOT_CONTEXT, traceId, 'GET', 1, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
      if (mine !== sdkSampled(ratio, traceId)) return t.fail(`ratio ${ratio}, ${traceId}: ${mine}`);
      if (mine) sampled++;
    }
    if (ratio === 0) t.is(sampled, 0);
    else if (ratio === 1) t.is(sampled, 3000);
    else t.true(Math.abs(sampled / 3000 - ratio) < 0.05, `ratio ${ratio}: ${sampled} of 3000`);
  }
});

test('an id the generator did not draw last is decided by the SDK sampler', (t) => {
  const ids = new PooledRandomIdGenerator();
  const other = new PooledRandomIdGenerator();
  const sampler = new PooledTraceIdRatioSampler(new TraceIdRatio(0.5), ids);
  ids.traceIdWithWord(ids.nextWord());
  // Its own ids from generateTraceId carry no word either: the sampler reads their text.
  t.is(ids.wordOf(ids.generateTraceId()), undefined);
  for (let i = 0; i < 500; i++) {
    const traceId = other.generateTraceId();
    t.is(ids.wordOf(traceId), undefined);
    t.is(sampler.shouldSample(ROOT_CONTEXT, traceId, 'GET', 1, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED, sdkSampled(0.5, traceId));
  }
});

/** The SDK's ratio-sampler value of a trace-id: the XOR of its four 32-bit words, from the hex text. */
const xorOfWords = (traceId: string) => [0, 8, 16, 24].reduce((x, i) => (x ^ parseInt(traceId.slice(i, i + 8), 16)) >>> 0, 0);

test('traceIdWithWord: valid ids whose words XOR to the given word, so the SDK decides them as the word says', (t) => {
  const ids = new PooledRandomIdGenerator();
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const word = i < 10 ? [0, 1, 0xffffffff, 0x7fffffff, 42_949_672][i % 5]! : ids.nextWord();
    const traceId = ids.traceIdWithWord(word);
    if (!isValidTraceId(traceId) || xorOfWords(traceId) !== word) return t.fail(`${word}: ${traceId}`);
    t.is(ids.wordOf(traceId), word);
    for (const ratio of [0.01, 0.5]) if (sdkSampled(ratio, traceId) !== new TraceIdRatio(ratio).sampled(word)) return t.fail(`ratio ${ratio}: ${traceId}`);
    seen.add(traceId);
  }
  t.is(seen.size, 3000);
});

test.serial('a dropped root span makes its ids only when asked for, once', (t) => {
  const ids = new PooledRandomIdGenerator();
  let spanIds = 0;
  const generateSpanId = ids.generateSpanId;
  ids.generateSpanId = () => {
    spanIds++;
    return generateSpanId();
  };
  const sampling = withEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0', OTEL_NODE_EXPERIMENTAL_SDK_METRICS: undefined }, () => ratioSamplingFromEnv(ids))!;
  t.true(trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: sampling.sampler, idGenerator: ids })));
  sampling.install();
  try {
    const span = trace.getTracer('lazy-ids-test').startSpan('GET', {}, ROOT_CONTEXT);
    span.setAttribute('http.route', '/x').updateName('GET /x').end();
    t.false(span.isRecording());
    t.is(spanIds, 0, 'no ids made for a span nobody asked');
    const sc = span.spanContext();
    t.true(isSpanContextValid(sc));
    t.is(sc.traceFlags, TraceFlags.NONE);
    t.is(span.spanContext(), sc, 'the same ids every time');
    t.is(spanIds, 1);
  } finally {
    trace.disable();
  }
});

test('reuseTraceId hands the last trace-id out once more, and refuses any other', (t) => {
  const ids = new PooledRandomIdGenerator();
  const first = ids.traceIdWithWord(ids.nextWord());
  ids.reuseTraceId(first);
  t.is(ids.generateTraceId(), first);
  t.not(ids.generateTraceId(), first);
  ids.traceIdWithWord(ids.nextWord());
  t.throws(() => ids.reuseTraceId(first), { message: /not the trace-id made last/ });
});

test('only a trace-id ratio sampler named in OTEL_TRACES_SAMPLER gets the fast path; the ratio is read as the SDK reads it', (t) => {
  const ids = new PooledRandomIdGenerator();
  const of = (env: Record<string, string | undefined>) => withEnv({ OTEL_TRACES_SAMPLER: undefined, OTEL_TRACES_SAMPLER_ARG: undefined, OTEL_NODE_EXPERIMENTAL_SDK_METRICS: undefined, OTEL_SDK_DISABLED: undefined, ...env }, () => ratioSamplingFromEnv(ids));
  t.is(of({}), undefined);
  t.is(of({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }), undefined);
  t.is(of({ OTEL_TRACES_SAMPLER: 'always_off' }), undefined);
  t.is(of({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_NODE_EXPERIMENTAL_SDK_METRICS: 'true' }), undefined);
  t.is(of({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_SDK_DISABLED: 'true' }), undefined);
  t.regex(String(of({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })?.sampler), /^ParentBased\{root=TraceIdRatioBased\{0\.1\}/);
  t.is(String(of({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })?.sampler), 'TraceIdRatioBased{0.25}');
  t.is(String(of({ OTEL_TRACES_SAMPLER: 'traceidratio' })?.sampler), 'TraceIdRatioBased{1}', 'blank: 1, as the SDK');
  t.is(String(of({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })?.sampler), 'TraceIdRatioBased{1}', 'out of range: 1, as the SDK');
});

test.serial('through the registered SDK: dropped roots are valid non-recording spans, sampled ones are exported with their id, children follow their parent', (t) => {
  const ids = new PooledRandomIdGenerator();
  const sampling = withEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5', OTEL_NODE_EXPERIMENTAL_SDK_METRICS: undefined }, () => ratioSamplingFromEnv(ids))!;
  // Counts the SDK's calls of the sampler: the fast path decides dropped roots without it.
  let samplerCalls = 0;
  const shouldSample = sampling.sampler.shouldSample.bind(sampling.sampler);
  sampling.sampler.shouldSample = (...args) => {
    samplerCalls++;
    return shouldSample(...args);
  };
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler: sampling.sampler, idGenerator: ids, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  t.true(trace.setGlobalTracerProvider(provider));
  sampling.install();
  try {
    const tracer = trace.getTracer('telemetry-sampler-test');
    const sampledIds = new Set<string>();
    let dropped = 0;
    for (let i = 0; i < 2000; i++) {
      const span = tracer.startSpan('GET', {}, ROOT_CONTEXT);
      const sc = span.spanContext();
      t.true(isSpanContextValid(sc));
      const sampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
      t.is(span.isRecording(), sampled);
      t.is(sampled, sdkSampled(0.5, sc.traceId), sc.traceId);
      if (sampled) sampledIds.add(sc.traceId);
      else dropped++;
      // Children: the parent's trace-id and decision.
      const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, span));
      t.is(child.spanContext().traceId, sc.traceId);
      t.is(child.isRecording(), sampled);
      child.end();
      span.end();
    }
    t.true(dropped > 800 && sampledIds.size > 800, `${dropped} dropped, ${sampledIds.size} sampled`);
    t.is(samplerCalls, sampledIds.size + 2000, 'the SDK started only the sampled roots, and every child');
    const finished = exporter.getFinishedSpans();
    t.is(finished.length, sampledIds.size * 2);
    t.deepEqual(new Set(finished.map((s) => s.spanContext().traceId)), sampledIds);
    // A root asked for explicitly, under a sampled parent, is decided on its own new id.
    const parent = tracer.startSpan('parent', {}, ROOT_CONTEXT);
    const root = tracer.startSpan('root', { root: true }, trace.setSpan(ROOT_CONTEXT, parent));
    t.not(root.spanContext().traceId, parent.spanContext().traceId);
    t.is(root.isRecording(), sdkSampled(0.5, root.spanContext().traceId));
  } finally {
    trace.disable();
  }
});

test.serial('install leaves the global provider alone when nothing registered after the sampling was made (SDK disabled, or another provider first)', (t) => {
  const ids = new PooledRandomIdGenerator();
  const other = new BasicTracerProvider();
  t.true(trace.setGlobalTracerProvider(other));
  try {
    const sampling = withEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5', OTEL_NODE_EXPERIMENTAL_SDK_METRICS: undefined, OTEL_SDK_DISABLED: undefined }, () => ratioSamplingFromEnv(ids))!;
    sampling.install();
    t.is((trace.getTracerProvider() as unknown as { getDelegate(): object }).getDelegate(), other);
    // AlwaysOn (the other provider's default sampler): every root recorded, none decided by the ratio.
    const tracer = trace.getTracer('install-test');
    for (let i = 0; i < 50; i++) t.true(tracer.startSpan('GET', {}, ROOT_CONTEXT).isRecording());
  } finally {
    trace.disable();
  }
});

test.serial('startActiveSpan: every overload runs the function with its span, an undefined context meaning the active one', (t) => {
  const ids = new PooledRandomIdGenerator();
  const sampling = withEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1', OTEL_NODE_EXPERIMENTAL_SDK_METRICS: undefined, OTEL_SDK_DISABLED: undefined }, () => ratioSamplingFromEnv(ids))!;
  t.true(trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: sampling.sampler, idGenerator: ids })));
  sampling.install();
  try {
    const tracer = trace.getTracer('active-span-test');
    const recorded = (span: Span) => {
      const r = span.isRecording();
      span.end();
      return r;
    };
    t.true(tracer.startActiveSpan('a', recorded));
    t.true(tracer.startActiveSpan('b', {}, recorded));
    t.is(tracer.startActiveSpan('c', {}, undefined as unknown as Context, (span) => (span.end(), 'ran')), 'ran');
    const parent = tracer.startSpan('parent', {}, ROOT_CONTEXT);
    tracer.startActiveSpan('d', {}, trace.setSpan(ROOT_CONTEXT, parent), (span) => {
      t.is(span.spanContext().traceId, parent.spanContext().traceId);
      span.end();
    });
    // A truthy `root` (not only `true`) asks for a new trace, as the SDK reads it.
    const root = tracer.startSpan('root', { root: 1 as unknown as boolean }, trace.setSpan(ROOT_CONTEXT, parent));
    t.not(root.spanContext().traceId, parent.spanContext().traceId);
  } finally {
    trace.disable();
  }
});
