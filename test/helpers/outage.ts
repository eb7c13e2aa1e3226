/**
 * IdP outages for integration tests: stop the real dev-idp, put a server that accepts connections
 * and never answers on its port, start the dev-idp again on the same port with the same keys, and
 * restart the app (a new instance over the same store) while the IdP is down.
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startDevIdp, type DevIdp } from '../../dev-idp/index.ts';
import { createApp, type App } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { CLIENT_ID, CLIENT_SECRET, type Stack } from './stack.ts';

/** Port of the stack's IdP (from its issuer URL). */
export function idpPort(stack: Stack): number {
  return Number(new URL(stack.idp.issuer).port);
}

/** A fresh data directory for a dev-idp: pass it to startStack (`idpDataDir`) and to {@link restartIdp}. */
export function newIdpDataDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'bff-idp-'));
}

/** Starts the dev-idp again on the stack's IdP port and host, with the same keys (`dataDir`) and client. */
export function restartIdp(stack: Stack, dataDir: string): Promise<DevIdp> {
  const issuer = new URL(stack.idp.issuer);
  return startDevIdp({
    port: Number(issuer.port),
    host: issuer.hostname,
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseUrl: stack.appUrl }],
    dataDir,
    apiPort: false,
    logger: () => undefined,
  });
}

export interface HangingServer {
  /** Connections accepted so far (each one is a request the app is waiting on). */
  readonly connections: number;
  /** Resolves when the next connection arrives (or at once if `count` were already accepted). */
  connected(count?: number): Promise<void>;
  close(): Promise<void>;
}

/** A TCP server on `host:port` that accepts connections, reads them and never answers. */
export async function hangingServer(host: string, port: number): Promise<HangingServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume();
    for (const w of waiters.filter((w) => connections >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, resolve);
  });
  return {
    get connections() {
      return connections;
    },
    connected(count = connections + 1) {
      return connections >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RestartedApp {
  app: App;
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Replaces the stack's app by a new instance built from the same config and store, as a process
 * restart would (sessions survive in the store; discovery starts again). The stack keeps its port.
 */
export function restartApp(stack: Stack): RestartedApp {
  const chunks: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } }) });
  const app = createApp(stack.config, { store: stack.store, logger });
  stack.server.removeAllListeners('request');
  stack.server.on('request', app.koa.callback());
  void stack.app.close();
  return {
    app,
    logs: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    close: () => app.close(),
  };
}
