/** A stand-in OpenTelemetry collector for the benchmark: accepts every OTLP/HTTP export and counts them. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  /** Where to export (`OTEL_EXPORTER_OTLP_ENDPOINT`), on loopback and a free port. */
  url: string;
  /** Export requests received so far (traces and metrics). */
  readonly requests: number;
  close(): Promise<void>;
}

/** Starts the sink on 127.0.0.1, port 0. */
export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
