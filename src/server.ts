/** Listening and graceful shutdown for the app's HTTP server. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';

/** Node's own answers to requests it could not parse, as its default handler gives them, plus `headers`. */
function answerClientError(headers: Readonly<Record<string, string>>) {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout'
        : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  };
}

export interface RunningServer {
  server: http.Server;
  /** The port actually bound (useful with port 0). */
  port: number;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs`
   * milliseconds, then closes what remains.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Listens on `port` (0 = any free port) on `host`. Rejects when the port is taken.
 * Header size is bounded explicitly (16 KiB, Node's default: larger headers get 431 from Node).
 * @param headers headers for the answers Node gives before Koa sees a request (400 malformed,
 *   408 too slow, 431 headers too large): the app's security headers, so no answer goes without them.
 */
export async function listen(koa: Koa, port: number, host?: string, headers: Readonly<Record<string, string>> = {}): Promise<RunningServer> {
  const server = http.createServer({ maxHeaderSize: 16 * 1024 }, koa.callback());
  server.on('clientError', answerClientError(headers));
  // Slow-client bounds: a request must arrive whole within 30 s; idle keep-alive sockets close after 5 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 5_000;
  let closing = false;
  const inFlight = new Set<http.ServerResponse>();
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight.add(res);
    if (closing) res.setHeader('Connection', 'close');
    res.on('close', () => {
      inFlight.delete(res);
      // A keep-alive socket that just went idle would otherwise hold close() for keepAliveTimeout.
      if (closing) server.closeIdleConnections();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        closing = true;
        // Answers still being prepared end their connection, so nothing waits on keep-alive.
        for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
