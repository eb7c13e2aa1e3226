/**
 * Trace-id ratio sampling (`OTEL_TRACES_SAMPLER=traceidratio` or `parentbased_traceidratio`, ratio
 * from `OTEL_TRACES_SAMPLER_ARG`, the OpenTelemetry SDK environment variables) without starting an
 * SDK span for the root spans it drops.
 *
 * Every request starts a server span, and with a 1 % ratio 99 of 100 are dropped. The SDK's
 * `startSpan` then still runs its whole path (id generation, the sampler chain reading the id's 32
 * hex characters twice, its own span counters, a debug log call) to return a non-recording span;
 * on the authenticated call that path cost far more than its 0.4 µs in a loop (README,
 * Performance → OpenTelemetry). Here a new trace is decided first, on a random 32-bit word, with
 * the SDK's own rule (sampled when the XOR of the trace-id's four 32-bit words is below
 * ratio × 0xffffffff, as `TraceIdRatioBasedSampler`), and its trace-id is then made to XOR to that
 * word: a dropped root span is a non-recording span (flags 00) whose ids are made only when asked
 * for; a sampled one, and every span with a parent, is started by the SDK, which is handed the
 * trace-id. The SDK's rule gives every such id the decision taken here, so a trace is sampled the
 * same way in any service that uses the SDK's ratio sampler.
 */
import { context as contextApi, trace, TraceFlags, type Attributes, type Context, type Link, type Span, type SpanContext, type SpanKind, type SpanOptions, type Tracer, type TracerOptions, type TracerProvider } from '@opentelemetry/api';
import { getBooleanFromEnv, getNumberFromEnv, getStringFromEnv, isTracingSuppressed } from '@opentelemetry/core';
import { ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import type { PooledRandomIdGenerator } from './telemetry-ids.ts';

const SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const DROPPED: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/**
 * The SDK's trace-id ratio rule on the id's random bytes: sampled when the XOR of its four
 * big-endian 32-bit words is below `upperBound`.
 */
export class TraceIdRatio {
  /** The share of traces sampled, 0 to 1. */
  readonly ratio: number;
  /** ratio × 0xffffffff rounded down, or 2³² for 1 (as the SDK's `TraceIdRatioBasedSampler`). */
  readonly upperBound: number;

  /** @param ratio 0 to 1; anything else (NaN included) counts as 0, as in the SDK. */
  constructor(ratio: number) {
    this.ratio = typeof ratio !== 'number' || Number.isNaN(ratio) ? 0 : ratio >= 1 ? 1 : ratio <= 0 ? 0 : ratio;
    this.upperBound = this.ratio === 1 ? 0x100000000 : Math.floor(this.ratio * 0xffffffff);
  }

  /** Whether the trace whose id's XOR of words is `word` is sampled. */
  sampled(word: number): boolean {
    return word < this.upperBound;
  }
}

/**
 * The root sampler: the SDK's decision for the trace-id, read from the id generator's bytes when
 * it made the id (every root span's), else by the SDK's `TraceIdRatioBasedSampler`.
 */
export class PooledTraceIdRatioSampler implements Sampler {
  readonly #ids: PooledRandomIdGenerator;
  readonly #rule: TraceIdRatio;
  readonly #fallback: TraceIdRatioBasedSampler;

  constructor(rule: TraceIdRatio, ids: PooledRandomIdGenerator) {
    this.#rule = rule;
    this.#ids = ids;
    this.#fallback = new TraceIdRatioBasedSampler(rule.ratio);
  }

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const word = this.#ids.wordOf(traceId);
    if (word === undefined) return this.#fallback.shouldSample(context, traceId);
    return this.#rule.sampled(word) ? SAMPLED : DROPPED;
  }

  toString(): string {
    return `TraceIdRatioBased{${this.#rule.ratio}}`;
  }
}

/**
 * A dropped root span: what the SDK returns for it (non-recording, flags 00), except that its ids
 * are made when first asked for (`callApi` sending the decision upstream as `traceparent`), from
 * the word it was decided on, so the trace-id gets the same decision from the SDK's rule.
 */
class DroppedRootSpan implements Span {
  readonly #ids: PooledRandomIdGenerator;
  readonly #word: number;
  #context: SpanContext | undefined;

  constructor(ids: PooledRandomIdGenerator, word: number) {
    this.#ids = ids;
    this.#word = word;
  }

  spanContext(): SpanContext {
    return (this.#context ??= { traceId: this.#ids.traceIdWithWord(this.#word), spanId: this.#ids.generateSpanId(), traceFlags: TraceFlags.NONE });
  }

  setAttribute(): this {
    return this;
  }

  setAttributes(): this {
    return this;
  }

  addEvent(): this {
    return this;
  }

  addLink(): this {
    return this;
  }

  addLinks(): this {
    return this;
  }

  setStatus(): this {
    return this;
  }

  updateName(): this {
    return this;
  }

  end(): void {}

  isRecording(): boolean {
    return false;
  }

  recordException(): void {}
}

/**
 * A tracer that decides root spans itself and leaves every other span to the SDK's tracer.
 * Used only with a trace-id ratio sampler, parent-based or not (see {@link ratioSamplingFromEnv}):
 * either way a root span is decided by its trace-id alone.
 */
class RatioRootTracer implements Tracer {
  constructor(
    private readonly sdk: Tracer,
    private readonly ids: PooledRandomIdGenerator,
    private readonly rule: TraceIdRatio,
  ) {}

  startSpan(name: string, options?: SpanOptions, context: Context = contextApi.active()): Span {
    // A span with a parent takes the parent's trace-id (and, parent-based, its decision): the SDK's.
    const root = Boolean(options?.root) || trace.getSpanContext(context) === undefined;
    if (!root || isTracingSuppressed(context)) return this.sdk.startSpan(name, options, context);
    // The decision first, from a random word: the ids of a dropped trace are made only if asked for.
    const word = this.ids.nextWord();
    if (this.rule.sampled(word)) {
      // The SDK starts the recorded span with an id of this word, and samples it by the same rule.
      this.ids.reuseTraceId(this.ids.traceIdWithWord(word));
      try {
        return this.sdk.startSpan(name, options, context);
      } finally {
        this.ids.cancelReuse();
      }
    }
    return new DroppedRootSpan(this.ids, word);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: [F] | [SpanOptions, F] | [SpanOptions, Context, F]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = rest.length > 1 ? (rest[0] as SpanOptions) : undefined;
    const parent = (rest.length > 2 ? (rest[1] as Context | undefined) : undefined) ?? contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

/** The SDK's tracer provider with {@link RatioRootTracer}s in front of its tracers. */
class RatioRootTracerProvider implements TracerProvider {
  constructor(
    private readonly sdk: TracerProvider,
    private readonly ids: PooledRandomIdGenerator,
    private readonly rule: TraceIdRatio,
  ) {}

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    return new RatioRootTracer(this.sdk.getTracer(name, version, options), this.ids, this.rule);
  }
}

/** What {@link ratioSamplingFromEnv} gives the demo's SDK wiring. */
export interface RatioSampling {
  /** The tracer provider's sampler (the SDK's `sampler` option). */
  sampler: Sampler;
  /**
   * Puts the fast root path in front of the tracer provider the SDK registered; call after the SDK
   * started. Does nothing when the global provider is the one there when this object was made
   * (the SDK did not register: disabled, or another provider came first).
   */
  install(): void;
}

/**
 * When `OTEL_TRACES_SAMPLER` names a trace-id ratio sampler: its sampler (ratio read as the SDK
 * reads `OTEL_TRACES_SAMPLER_ARG`: blank or outside [0, 1] is 1) and the fast root path; otherwise
 * undefined, and the SDK builds the sampler named. Also undefined when the SDK's own span metrics
 * are on (`OTEL_NODE_EXPERIMENTAL_SDK_METRICS`: they count every span started, dropped ones too)
 * or the SDK is disabled (`OTEL_SDK_DISABLED`). Make it before the SDK starts.
 */
export function ratioSamplingFromEnv(ids: PooledRandomIdGenerator): RatioSampling | undefined {
  const name = getStringFromEnv('OTEL_TRACES_SAMPLER');
  if (name !== 'traceidratio' && name !== 'parentbased_traceidratio') return undefined;
  if (getBooleanFromEnv('OTEL_NODE_EXPERIMENTAL_SDK_METRICS') || getBooleanFromEnv('OTEL_SDK_DISABLED')) return undefined;
  const arg = getNumberFromEnv('OTEL_TRACES_SAMPLER_ARG');
  const rule = new TraceIdRatio(arg === undefined || arg < 0 || arg > 1 ? 1 : arg);
  const root = new PooledTraceIdRatioSampler(rule, ids);
  // The API's global provider is a proxy that hands out tracers of its delegate: what it holds
  // now, before the SDK registers its own, is not to be wrapped (nothing, or another provider).
  const proxy = (): (TracerProvider & { getDelegate?(): TracerProvider; setDelegate?(p: TracerProvider): void }) => trace.getTracerProvider();
  const before = proxy().getDelegate?.();
  return {
    sampler: name === 'parentbased_traceidratio' ? new ParentBasedSampler({ root }) : root,
    install() {
      const global = proxy();
      if (typeof global.getDelegate !== 'function' || typeof global.setDelegate !== 'function') return;
      const registered = global.getDelegate();
      // The SDK did not register (disabled, or another provider was there first): leave it alone.
      if (registered === before) return;
      global.setDelegate(new RatioRootTracerProvider(registered, ids, rule));
    },
  };
}
