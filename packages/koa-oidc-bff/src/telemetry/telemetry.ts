/**
 * The package's OpenTelemetry instruments, through `@opentelemetry/api` only: they record nothing
 * unless the host registered an SDK (a MeterProvider and/or a TracerProvider) before calling
 * `createBff`. Without one, {@link createTelemetry} says so once (`metricsOn`/`tracingOn` false)
 * and the package wires nothing at all: no store proxy, no fetch wrapper, no per-request work.
 *
 * Instrument names are the names a Prometheus scraper sees (the Prometheus exporter of the
 * OpenTelemetry line that runs on Node 20 appends no unit suffix), units are UCUM (`s`, `1`).
 * Every attribute value comes from a closed set: never a user, session, IP, URL or token.
 */
import { createNoopMeter, isSpanContextValid, metrics, trace, type Counter, type Histogram, type Meter, type Tracer } from '@opentelemetry/api';
import { hotHistograms, type HotHistogram } from './hot-histograms.ts';
import { producedHistogram } from './metric-producer.ts';

/** Instrumentation scope name (`otel_scope_name` in Prometheus). */
export const SCOPE = 'koa-oidc-bff';

/** Histogram bucket boundaries in seconds: mostly below one second, where logins and IdP calls live. */
export const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10];

/** The instruments of one BFF, and whether an SDK is listening. */
export interface Telemetry {
  /** A MeterProvider was registered: counters and histograms record. */
  readonly metricsOn: boolean;
  /** A TracerProvider was registered: spans are created (and sampled by the host's sampler). */
  readonly tracingOn: boolean;
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly loginsStarted: Counter;
  readonly loginsCompleted: Counter;
  readonly callbackDuration: Histogram;
  readonly refreshes: Counter;
  readonly refreshDuration: Histogram;
  readonly logouts: Counter;
  readonly csrfRejections: Counter;
  readonly idpDuration: Histogram;
  readonly idpErrors: Counter;
  /** Recorded on every store call: through the package's metric producer, or batched (hot-histograms.ts). */
  readonly storeDuration: HotHistogram;
  readonly storeErrors: Counter;
  readonly upstreamDuration: Histogram;
  /** Recorded on every request: through the package's metric producer, or batched (hot-histograms.ts). */
  readonly httpDuration: HotHistogram;
}

/** True when the global MeterProvider is the API's no-op one (no SDK registered). */
function noopMeter(meter: Meter): boolean {
  return meter.constructor === createNoopMeter().constructor;
}

/**
 * True when a TracerProvider is registered: the API's no-op tracer returns spans with an invalid
 * context, an SDK's tracer a valid one even for spans its sampler drops. The probe is never ended,
 * so it is never exported.
 */
function tracerRegistered(tracer: Tracer): boolean {
  return isSpanContextValid(tracer.startSpan('koa-oidc-bff.probe', { root: true }).spanContext());
}

/**
 * Reads the global providers once and creates every instrument (cached for the BFF's life).
 * A host that registers its SDK after `createBff` gets no telemetry from that BFF.
 */
export function createTelemetry(version = '0.1.0'): Telemetry {
  const meter = metrics.getMeter(SCOPE, version);
  const tracer = trace.getTracer(SCOPE, version);
  const metricsOn = !noopMeter(meter);
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } });
  // The per-request histograms: aggregated by the package's metric producer when the host
  // registered it (metric-producer.ts), else recorded through the API in batches (hot-histograms.ts).
  let batched: ((h: Histogram) => HotHistogram) | undefined;
  const hot = (name: string, description: string): HotHistogram => {
    if (!metricsOn) return seconds(name, description);
    const produced = producedHistogram(name, description, SECONDS_BUCKETS);
    if (produced) return produced;
    batched ??= hotHistograms(meter);
    return batched(seconds(name, description));
  };
  const counter = (name: string, description: string): Counter => meter.createCounter(name, { description, unit: '1' });
  return {
    metricsOn,
    tracingOn: tracerRegistered(tracer),
    tracer,
    meter,
    loginsStarted: counter('bff_logins_started_total', 'Logins sent to the IdP (GET /login answered with a redirect).'),
    loginsCompleted: counter('bff_logins_completed_total', 'Logins completed, by outcome (success, failure) and failure reason code.'),
    callbackDuration: seconds('bff_callback_duration_seconds', 'Time from the callback request to the stored session, token request included.'),
    refreshes: counter('bff_token_refreshes_total', 'Access token renewals, by outcome (refreshed, coalesced, grant_gone, unavailable).'),
    refreshDuration: seconds('bff_token_refresh_duration_seconds', 'Time of one refresh under the lock: IdP token request and store write.'),
    logouts: counter('bff_logouts_total', 'Sessions ended, by kind (rp_initiated, backchannel, ended_by_user, expired).'),
    csrfRejections: counter('bff_csrf_rejections_total', 'Requests refused by a CSRF check, by check (api_header, origin, token, fetch_metadata).'),
    idpDuration: seconds('bff_idp_request_duration_seconds', 'Duration of HTTP requests to the IdP, by endpoint (discovery, jwks, token, revocation, end_session).'),
    idpErrors: counter('bff_idp_errors_total', 'Failed HTTP requests to the IdP, by endpoint and kind (timeout, network, http_4xx, http_5xx).'),
    storeDuration: hot('bff_session_store_duration_seconds', 'Duration of session store operations, by op.'),
    storeErrors: counter('bff_session_store_errors_total', 'Session store operations that failed, by op.'),
    upstreamDuration: seconds('bff_upstream_request_duration_seconds', 'Duration of callApi requests until the response headers, by status_class (2xx..5xx, error).'),
    httpDuration: hot('http_server_request_duration_seconds', 'Duration of HTTP server requests (OpenTelemetry HTTP semantic conventions), by method, route template and status.'),
  };
}
