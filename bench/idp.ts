/**
 * The benchmark's dev-idp, in a process of its own: the app's process then holds only the app, as
 * in production. (In one process, oidc-provider's AsyncLocalStorage turns on async hooks for
 * every promise of the app too, which made the app about 15% slower per request.)
 *
 * Started by bench/server.ts with an IPC channel and the app's URL as argument; sends
 * `{ type: 'idp-ready', issuer }`, exits when the channel closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevIdp } from '../dev-idp/index.ts';
import { BENCH_CLIENT } from './protocol.ts';

const appUrl = process.argv[2];
if (!appUrl || !process.send) {
  process.stderr.write('usage: started by bench/server.ts (IPC) with <app-url>\n');
  process.exit(2);
}
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bff-bench-idp-'));
const idp = await startDevIdp({
  port: 0,
  // Another site than the app (localhost), as in production: the IdP's cookies never reach the app.
  host: '127.0.0.1',
  clients: [{ ...BENCH_CLIENT, baseUrl: appUrl }],
  dataDir,
  apiPort: false,
  logger: () => undefined,
});
process.send({ type: 'idp-ready', issuer: idp.issuer });
process.on('disconnect', () => {
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  void idp.close().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
