/**
 * The demo's OTLP/HTTP exporters (JSON encoding), sent with `fetch` instead of `node:http`.
 *
 * Why: the SDK's own Node exporters send with `http.request`, and a `ClientRequest` runs the same
 * functions of Node's HTTP module as the app's responses (`OutgoingMessage#end`, `_writeRaw`, the
 * HTTP parser's callbacks). The first export teaches V8 a second kind of object at every one of
 * those call sites, and the app's hottest path is compiled again less well for good: in
 * `bench/telemetry-together.ts`, an app that also posted 60 kB to the collector every 5 s with
 * `http.request` (nothing else different) lost most of the CPU gap to one that exported spans.
 * `fetch` (undici) has its own request writer and parser; the app already uses it for its IdP and
 * upstream calls, so it adds no new kind of object anywhere.
 *
 * Everything else is the SDK's: the configuration from the standard variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `_HEADERS`, `_TIMEOUT`, `_COMPRESSION`, and their per-signal
 * forms; `convertLegacyHttpOptions`), the serializers, the export queue and the exporter's own
 * metrics. When a TLS file setting is given (`OTEL_EXPORTER_OTLP_CERTIFICATE`,
 * `_CLIENT_CERTIFICATE`, `_CLIENT_KEY`, or a per-signal form), which `fetch` cannot take, the SDK's
 * own exporter is used instead (src/config.ts reads which: `otlpTlsFiles`).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { createOtlpNetworkExportDelegate, OTLPExporterBase, type ExportResponse, type IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExporterMetrics } from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonMetricsSerializer, JsonTraceSerializer, MetricsExporterMetricsHelper, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import { OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

const gzipAsync = promisify(gzip);

/** Attempts per export, and the backoff between them (OTLP/HTTP "Retryable Response Codes": exponential backoff with jitter). */
const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;
/** Status codes a collector answers when it may take the same request later (OTLP/HTTP specification). */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

export interface FetchTransportOptions {
  /** The signal's full URL (`.../v1/traces`). */
  url: string;
  /** The request headers (Content-Type, User-Agent, `OTEL_EXPORTER_OTLP_HEADERS`), as the SDK's configuration gives them. */
  headers: () => Promise<Record<string, string>>;
  /** `gzip` compresses the body (`Content-Encoding: gzip`). */
  compression: 'gzip' | 'none';
}

/**
 * An OTLP exporter transport over `fetch`: one POST per export (credentials in the URL sent as
 * `Authorization: Basic`, unless the headers hold an Authorization already), retried on 429, 502, 503, 504 and
 * network errors (at most 5 attempts, `Retry-After` honoured) while `timeoutMillis` lasts.
 * Resolves, never rejects: `success` (2xx, with the response body), `retryable` when the time or
 * the attempts ran out on a retryable answer, `failure` on any other status.
 */
export function createFetchTransport(options: FetchTransportOptions): IExporterTransport {
  // User and password in the URL become Basic credentials, as node:http sends them (`fetch`
  // refuses such a URL, and its error would carry the password into a log).
  const target = new URL(options.url);
  const basic = target.username || target.password
    ? `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`
    : undefined;
  target.username = '';
  target.password = '';
  const url = target.href;
  return {
    async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
      const deadline = Date.now() + timeoutMillis;
      const headers = { ...(await options.headers()) };
      if (basic && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) headers.Authorization = basic;
      let body = data;
      if (options.compression === 'gzip') {
        body = await gzipAsync(data);
        headers['Content-Encoding'] = 'gzip';
      }
      let backoff = INITIAL_BACKOFF_MS;
      for (let attempt = 1; ; attempt++) {
        const result = await post(url, headers, body, deadline - Date.now());
        if (result.status !== 'retryable' || attempt === MAX_ATTEMPTS) return result;
        const jittered = backoff * (1 - JITTER + Math.random() * 2 * JITTER);
        const wait = result.retryInMillis ?? jittered;
        if (Date.now() + wait >= deadline) return result;
        await new Promise((resolve) => setTimeout(resolve, wait));
        backoff = Math.min(backoff * BACKOFF_MULTIPLIER, MAX_BACKOFF_MS);
      }
    },
    shutdown() {},
  };
}

async function post(url: string, headers: Record<string, string>, body: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer>, signal: AbortSignal.timeout(Math.max(1, timeoutMillis)) });
  } catch (err) {
    // Refused, reset, timed out: the collector may take it later.
    return { status: 'retryable', error: new Error('OTLP export: request failed', { cause: err }) };
  }
  const answer = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (response.ok) return { status: 'success', data: answer };
  if (RETRYABLE_STATUS.has(response.status)) {
    const retryAfter = retryAfterMillis(response.headers.get('retry-after'));
    return { status: 'retryable', error: new Error(`OTLP export: collector answered ${response.status}`), ...(retryAfter === undefined ? {} : { retryInMillis: retryAfter }) };
  }
  return { status: 'failure', error: new Error(`OTLP export: collector answered ${response.status}`) };
}

/** `Retry-After` (RFC 9110 10.2.3: seconds or an HTTP date) in milliseconds from now; undefined when absent or invalid. */
function retryAfterMillis(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The OTLP/HTTP JSON span exporter of the SDK (same configuration, queue and self-metrics), sending with `fetch`. */
export function createFetchSpanExporter(): SpanExporter {
  const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/json' });
  const metrics = createOtlpHttpExporterMetrics('otlp_http_span_exporter', TraceExporterMetricsHelper, options.url, undefined);
  return new OTLPExporterBase(createOtlpNetworkExportDelegate(options, JsonTraceSerializer, metrics, createFetchTransport(options)));
}

/** The OTLP/HTTP JSON metric exporter of the SDK (cumulative temporality by default, as the SDK's), sending with `fetch`. */
export function createFetchMetricExporter(): OTLPMetricExporterBase {
  const options = convertLegacyHttpOptions({}, 'METRICS', 'v1/metrics', { 'Content-Type': 'application/json' });
  const metrics = createOtlpHttpExporterMetrics('otlp_http_metric_exporter', MetricsExporterMetricsHelper, options.url, undefined);
  return new OTLPMetricExporterBase(createOtlpNetworkExportDelegate(options, JsonMetricsSerializer, metrics, createFetchTransport(options)));
}
