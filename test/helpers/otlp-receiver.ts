/**
 * A small OTLP/HTTP receiver for tests: accepts the OTLP JSON encoding on /v1/traces and
 * /v1/metrics (as an OpenTelemetry collector does) and keeps the spans and metric points it was sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as the OTLP JSON encoding carries it (ids in hex), with its attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
}

/** A sum or histogram data point of one metrics export: its value (a sum) or observation count (a histogram). */
export interface ReceivedPoint {
  name: string;
  attributes: Record<string, string | number | boolean>;
  value: number;
}

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  /** The data points of each metrics export received, in order (cumulative: the last one holds the totals). */
  metricExports: ReceivedPoint[][];
  /** Every request body received, as text (for the secrets check). */
  bodies: string[];
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpPoint = { attributes?: { key: string; value: AnyValue }[]; asInt?: string | number; asDouble?: number; count?: string | number };
type OtlpMetrics = { resourceMetrics?: { scopeMetrics?: { metrics?: { name: string; sum?: { dataPoints?: OtlpPoint[] }; histogram?: { dataPoints?: OtlpPoint[] } }[] }[] }[] };
type OtlpTraces = { resourceSpans?: { scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: { key: string; value: AnyValue }[] }[] }[] }[] };

const flatten = (value: AnyValue): string | number | boolean =>
  value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue ?? '';

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const metricExports: ReceivedPoint[][] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      bodies.push(body);
      if (req.url === '/v1/traces') {
        if (!String(req.headers['content-type']).startsWith('application/json')) {
          res.writeHead(415).end();
          return;
        }
        const data = JSON.parse(body) as OtlpTraces;
        for (const rs of data.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind,
            attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, flatten(a.value)])),
          });
        }
      }
      if (req.url === '/v1/metrics' && String(req.headers['content-type']).startsWith('application/json')) {
        const points: ReceivedPoint[] = [];
        const data = JSON.parse(body) as OtlpMetrics;
        for (const rm of data.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) {
          for (const p of [...(m.sum?.dataPoints ?? []), ...(m.histogram?.dataPoints ?? [])]) {
            points.push({
              name: m.name,
              attributes: Object.fromEntries((p.attributes ?? []).map((a) => [a.key, flatten(a.value)])),
              value: Number(m.histogram ? p.count : (p.asInt ?? p.asDouble)),
            });
          }
        }
        metricExports.push(points);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    metricExports,
    bodies,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
