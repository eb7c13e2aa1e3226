/**
 * The demo's OpenTelemetry SDK: started before the app is built (the package reads the global
 * providers once, in `createBff`), only when something will read it.
 * - `METRICS_PORT`: a Prometheus scrape endpoint, `GET /metrics`, on its own port and interface
 *   (never the app's public port), served by the Prometheus exporter's own request handler.
 * - `OTEL_EXPORTER_OTLP_ENDPOINT`: traces (batched) and metrics (every `OTEL_METRIC_EXPORT_INTERVAL`
 *   ms, default 60000, within `OTEL_METRIC_EXPORT_TIMEOUT`, default 30000) exported over OTLP/HTTP.
 *   With both, the metrics are aggregated once, by the Prometheus reader, and OTLP exports what it
 *   collects (telemetry-metrics-push.ts): a second reader would double the cost of every record.
 *   The exporters and the Node SDK read the other standard `OTEL_*` variables themselves
 *   (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG,
 *   OTEL_EXPORTER_OTLP_HEADERS, OTEL_PROPAGATORS, ...).
 * Without the endpoint no tracer provider is registered: no span is made, none is wasted. The
 * context manager is switched on only while a sampled request's store or IdP call runs
 * (telemetry-context.ts). Span ids come from a pool of random bytes (telemetry-ids.ts); with a
 * trace-id ratio sampler, new traces it drops never reach the SDK's span start
 * (telemetry-sampler.ts); and the package's per-request histograms come from its own metric
 * producer (`bffMetricProducer`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bffMetricProducer } from 'koa-oidc-bff';
import type { Config } from './config.ts';
import { OnDemandContextManager } from './telemetry-context.ts';
import { PooledRandomIdGenerator } from './telemetry-ids.ts';
import { pushCollectedMetrics } from './telemetry-metrics-push.ts';

export interface RunningTelemetry {
  /** Where Prometheus scrapes, when METRICS_PORT is set. */
  readonly metricsUrl: string | undefined;
  /** True when traces are exported (OTEL_EXPORTER_OTLP_ENDPOINT set). */
  readonly tracing: boolean;
  /** Exports what is buffered (spans, metrics) now. */
  flush(): Promise<void>;
  /** Stops the metrics endpoint and the SDK, exporting what is buffered. */
  shutdown(): Promise<void>;
}

/**
 * Starts the SDK, or returns undefined when neither METRICS_PORT nor OTEL_EXPORTER_OTLP_ENDPOINT
 * is set (the package then records nothing and adds no work per request).
 * @throws when the metrics port cannot be bound (EADDRINUSE...).
 */
export async function startTelemetry(config: Pick<Config, 'metricsPort' | 'metricsHost' | 'otlpEndpoint' | 'otlpTlsFiles'>): Promise<RunningTelemetry | undefined> {
  if (config.metricsPort === undefined && !config.otlpEndpoint) return undefined;
  // Loaded only when used: the SDK is a few MB of modules a telemetry-free start does not need.
  const [{ getNumberFromEnv }, { NodeSDK }, { PrometheusExporter }, { PeriodicExportingMetricReader }, { BatchSpanProcessor }, otlpTrace, otlpMetrics, { ratioSamplingFromEnv }, fetchExport] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/exporter-prometheus'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/exporter-metrics-otlp-http'),
    import('./telemetry-sampler.ts'),
    import('./telemetry-fetch-export.ts'),
  ]);
  // The package aggregates its per-request histograms itself and hands them to the reader
  // (cheaper than the SDK's per-record attribute hashing); the BFF is created after this.
  const metricProducers = [bffMetricProducer()];
  const prometheus = config.metricsPort !== undefined ? new PrometheusExporter({ preventServerStart: true, metricProducers }) : undefined;
  // The standard variables (the SDK's reader takes them only as options); invalid ones fall back to the defaults.
  const exportIntervalMillis = Math.max(1, getNumberFromEnv('OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000);
  const exportTimeoutMillis = Math.min(exportIntervalMillis, Math.max(1, getNumberFromEnv('OTEL_METRIC_EXPORT_TIMEOUT') ?? 30_000));
  // Sent with fetch, not node:http: a ClientRequest would share the app's response functions (telemetry-fetch-export.ts).
  const otlpMetricExporter = !config.otlpEndpoint ? undefined : config.otlpTlsFiles.metrics ? new otlpMetrics.OTLPMetricExporter() : fetchExport.createFetchMetricExporter();
  const otlpReader = otlpMetricExporter && !prometheus ? new PeriodicExportingMetricReader({ exporter: otlpMetricExporter, exportIntervalMillis, exportTimeoutMillis, metricProducers }) : undefined;
  const push = otlpMetricExporter && prometheus ? pushCollectedMetrics(prometheus, otlpMetricExporter, exportIntervalMillis, exportTimeoutMillis) : undefined;
  const spanProcessor = !config.otlpEndpoint ? undefined : new BatchSpanProcessor(config.otlpTlsFiles.traces ? new otlpTrace.OTLPTraceExporter() : fetchExport.createFetchSpanExporter());
  const idGenerator = new PooledRandomIdGenerator();
  // With a trace-id ratio sampler, dropped root spans are decided before the SDK starts them.
  const ratioSampling = spanProcessor ? ratioSamplingFromEnv(idGenerator) : undefined;
  const sdk = new NodeSDK({
    idGenerator,
    ...(ratioSampling ? { sampler: ratioSampling.sampler } : {}),
    metricReaders: [...(prometheus ? [prometheus] : []), ...(otlpReader ? [otlpReader] : [])],
    // Explicit (possibly empty): the SDK would otherwise export traces to a default collector address.
    spanProcessors: spanProcessor ? [spanProcessor] : [],
    instrumentations: [],
    contextManager: new OnDemandContextManager(),
  });

  let server: http.Server | undefined;
  let metricsUrl: string | undefined;
  if (prometheus && config.metricsPort !== undefined) {
    server = http.createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        prometheus.getMetricsRequestHandler(req, res);
        return;
      }
      res.statusCode = 404;
      res.end('Not found\n');
    });
    // Bound before the SDK registers its global providers: a taken port leaves nothing registered.
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.metricsPort, config.metricsHost, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    metricsUrl = `http://${host}:${address.port}/metrics`;
  }
  sdk.start();
  ratioSampling?.install();
  return {
    metricsUrl,
    tracing: spanProcessor !== undefined,
    async flush() {
      await Promise.all([spanProcessor?.forceFlush(), otlpReader?.forceFlush(), push?.flush()]);
    },
    async shutdown() {
      if (server) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server!.close(() => resolve()));
      }
      await push?.shutdown();
      await sdk.shutdown();
    },
  };
}
