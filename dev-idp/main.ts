/**
 * `npm run start:idp`: the development OpenID Provider and the dev API in one process.
 * Settings come from the environment and `.env` (see config.ts). Ctrl-C / SIGTERM exit 0.
 * The installed package's command line (cli.ts) does the same, with flags over these settings.
 */
import { loadDevIdpSettings } from './config.ts';
import { serveUntilSignal } from './serve.ts';

let settings: ReturnType<typeof loadDevIdpSettings>;
try {
  settings = loadDevIdpSettings();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
serveUntilSignal({
  port: settings.port,
  host: settings.host,
  apiPort: settings.apiPort,
  clients: [settings.client],
  ...(settings.accountsPath ? { accounts: settings.accountsPath } : {}),
}, 'Change DEV_IDP_PORT / DEV_API_PORT otherwise');
