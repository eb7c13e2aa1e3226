/**
 * A second app instance beside a {@link Stack}: same configuration (so the same BASE_URL, as behind
 * a load balancer), same IdP, same session store, its own process-local state and its own port.
 * Cookies on localhost are not port-specific, so one UserAgent's jar reaches both instances.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import type { SessionStore } from 'koa-oidc-bff';
import type { Stack } from './stack.ts';

export interface Instance {
  /** e.g. http://localhost:54321 */
  url: string;
  app: App;
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts another app instance sharing `stack`'s config, IdP and store. `extend` may add
 * middleware after the app's own (it sees requests no route answered) before it starts serving.
 * `store` gives it a store of its own (its own connection to the same backend, as another process
 * would have; the caller closes it).
 */
export async function startInstance(stack: Stack, extend?: (app: App) => void, store: SessionStore = stack.store): Promise<Instance> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const chunks: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } }) });
  const app = createApp(stack.config, { store, logger });
  extend?.(app);
  server.on('request', app.koa.callback());
  await app.bff.whenReady();
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    app,
    logs: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    },
  };
}
