/**
 * The demo's OpenTelemetry SDK (src/telemetry.ts) started in a test worker as src/main.ts starts
 * it: OTLP export to a test receiver when one is given, the Prometheus endpoint on a free port
 * when asked. The standard `OTEL_*` variables in `env` are set first (the SDK reads them itself).
 * One SDK per worker process: the global providers can be registered once.
 */
import { startTelemetry, type RunningTelemetry } from '../../src/telemetry.ts';
import type { OtlpReceiver } from './otlp-receiver.ts';

/**
 * @param options.env standard `OTEL_*` variables, set in `process.env` first.
 * @param options.metrics true: the Prometheus endpoint on a free port (`metricsUrl`).
 * @param options.tlsFiles true: as when `loadConfig` found an OTLP TLS file setting (the SDK's own exporters).
 * @throws Error when neither a receiver nor metrics is asked for (nothing would start).
 */
export async function startDemoTelemetry(receiver: OtlpReceiver | undefined, options: { env?: Record<string, string>; metrics?: boolean; tlsFiles?: boolean } = {}): Promise<RunningTelemetry> {
  if (receiver) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  Object.assign(process.env, options.env);
  const telemetry = await startTelemetry({
    metricsPort: options.metrics ? 0 : undefined,
    metricsHost: '127.0.0.1',
    otlpEndpoint: receiver ? new URL(receiver.url) : undefined,
    otlpTlsFiles: { traces: options.tlsFiles === true, metrics: options.tlsFiles === true },
  });
  if (!telemetry) throw new Error('startTelemetry started nothing: give a receiver or ask for metrics');
  return telemetry;
}
