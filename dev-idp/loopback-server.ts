import { createServer, type RequestListener, type Server } from 'node:http';

/** HTTP listener(s) on the loopback interface sharing one port. */
export interface LoopbackServer {
  port: number;
  /** Installs the request handler (servers are started before the app exists, to learn the port). */
  handle(listener: RequestListener): void;
  /** Stops listening and destroys every open connection, keep-alive ones included. */
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Keep-alive sockets would keep close() waiting, and a client reusing one after a restart
    // on the same port would hit a dead server.
    server.closeAllConnections();
  });
}

const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/**
 * Listens on loopback only: 127.0.0.1, plus [::1] on the same port when `host` is 'localhost'
 * (where browsers may resolve localhost to ::1 first). Never on a public interface.
 * Input: the issuer hostname and a port (0 = a free one). Output: the bound port and controls.
 * Throws EADDRINUSE when a fixed port is taken.
 */
export async function listenOnLoopback(host: 'localhost' | '127.0.0.1', port: number): Promise<LoopbackServer> {
  for (let attempt = 0; ; attempt += 1) {
    const servers = [createServer()];
    await listen(servers[0]!, '127.0.0.1', port);
    const bound = (servers[0]!.address() as { port: number }).port;
    if (host === 'localhost') {
      const v6 = createServer();
      try {
        await listen(v6, '::1', bound);
        servers.push(v6);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!NO_IPV6.has(code)) {
          await closeServer(servers[0]!);
          if (code === 'EADDRINUSE' && port === 0 && attempt < 5) continue; // the free v4 port is taken on v6
          throw err;
        }
      }
    }
    return {
      port: bound,
      handle: (listener) => servers.forEach((s) => s.on('request', listener)),
      close: async () => {
        await Promise.all(servers.map(closeServer));
      },
    };
  }
}
