/**
 * The benchmark's reference: a bare Koa 3 server with the demo's two measured routes and nothing
 * else (no router, no session, no auth, no logging, no security headers):
 * - `GET /healthz` answers `{"status":"ok"}`;
 * - `GET /api/hello` answers a small JSON like the demo's authenticated one, `{ message, sub }`.
 * Anything else is Koa's own 404.
 *
 * bench/run.ts starts it once per run through the same placement as the app servers (pinned to
 * the app's core with taskset, bench/processes.ts) and measures it with the same load plan,
 * interleaved with the app's endpoints (never at the same time as another server); every app
 * throughput is printed as a ratio to it.
 *
 * Usage: node --import tsx bench/bare-koa.ts (started by bench/run.ts with an IPC channel): it sends
 * a {@link ReadyMessage} (storeKind `bare-koa`), then answers `gc` and `close` {@link Command}s.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { Command, ReadyMessage, Reply } from './protocol.ts';

if (!process.send) {
  process.stderr.write('usage: started by bench/run.ts (IPC)\n');
  process.exit(2);
}

/** The demo's user of the benchmark's first account (bench/logins.ts ACCOUNTS[0]), for a like-sized answer. */
const USER = { sub: 'a1b2c3d4-alice', name: 'Alice Example' };

const koa = new Koa();
koa.use(async function bare(ctx) {
  if (ctx.method !== 'GET') return;
  if (ctx.path === '/healthz') {
    ctx.body = { status: 'ok' };
  } else if (ctx.path === '/api/hello') {
    ctx.body = { message: `Hello, ${USER.name}! This message came from the API.`, sub: USER.sub };
  }
});

// The same HTTP server settings as the app (src/server.ts, bench/server.ts).
const server = http.createServer({ maxHeaderSize: 16 * 1024 }, koa.callback());
server.requestTimeout = 30_000;
server.headersTimeout = 20_000;
server.keepAliveTimeout = 5_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

send({ type: 'ready', appUrl: `http://localhost:${port}`, storeKind: 'bare-koa', pid: process.pid } satisfies ReadyMessage);

process.on('message', (message: { id: number } & Command) => {
  switch (message.cmd) {
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'reply', id: message.id, ok: true, result: {} });
      return;
    case 'close':
      send({ type: 'reply', id: message.id, ok: true, result: {} });
      setImmediate(shutdown);
      return;
    default:
      send({ type: 'reply', id: message.id, ok: false, error: `bare-koa: no command ${message.cmd}` });
  }
});
// The driver died: do not linger holding the port.
process.on('disconnect', shutdown);

function shutdown(): void {
  const force = setTimeout(() => process.exit(1), 5_000);
  force.unref();
  server.closeAllConnections();
  server.close(() => process.exit(0));
}

function send(message: ReadyMessage | Reply): void {
  process.send?.(message);
}
