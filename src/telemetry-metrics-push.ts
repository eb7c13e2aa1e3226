/**
 * OTLP export of the metrics another reader already aggregates. The metrics SDK aggregates every
 * record once per registered reader (it hashes the attributes and updates a histogram per reader),
 * so a Prometheus endpoint plus a second reader for OTLP doubles the cost of every record on the
 * request path. With both outputs the demo registers the Prometheus reader alone and pushes what it
 * collects (cumulative, as OTLP receivers accept) to the OTLP exporter on the standard interval.
 */
import { diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';

export interface MetricsPush {
  /** Collects and exports now (resolves when the exporter has answered, whatever it answered). */
  flush(): Promise<void>;
  /** Stops the timer, exports one last time, and shuts the exporter down. Call before the reader shuts down. */
  shutdown(): Promise<void>;
}

/**
 * Every `intervalMs` milliseconds, exports what `reader` collects (within `timeoutMs`) through
 * `exporter`; one export at a time (a tick during an export joins it). Failures are reported
 * through the OpenTelemetry diagnostic logger, as the SDK's own periodic reader does.
 */
export function pushCollectedMetrics(reader: Pick<MetricReader, 'collect'>, exporter: PushMetricExporter, intervalMs: number, timeoutMs: number): MetricsPush {
  let running: Promise<void> | undefined;
  const exportOnce = async () => {
    const { resourceMetrics, errors } = await reader.collect({ timeoutMillis: timeoutMs });
    if (errors.length > 0) diag.error('metrics push: collection errors', ...errors);
    await new Promise<void>((resolve) => {
      exporter.export(resourceMetrics, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) diag.error('metrics push: export failed', result.error);
        resolve();
      });
    });
  };
  const tick = () => {
    running ??= exportOnce().catch((err: unknown) => diag.error('metrics push failed', err)).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return {
    flush: async () => {
      await running;
      await tick();
    },
    async shutdown() {
      clearInterval(timer);
      await running;
      await tick();
      await exporter.shutdown();
    },
  };
}
