/**
 * `npm run start:idp`: the development OpenID Provider and the dev API in one process.
 * Settings come from the environment and `.env` (see config.ts). Ctrl-C / SIGTERM exit 0.
 */
import { loadDevIdpSettings } from './config.ts';
import { startDevIdp } from './index.ts';

async function main(): Promise<void> {
  const settings = loadDevIdpSettings();
  const idp = await startDevIdp({
    port: settings.port,
    host: settings.host,
    apiPort: settings.apiPort,
    clients: [settings.client],
    ...(settings.accountsPath ? { accounts: settings.accountsPath } : {}),
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm start` delivers the signal twice (terminal and concurrently): the second must not kill the process mid-close.
    if (stopping) return;
    stopping = true;
    console.log(`dev-idp: ${signal}, shutting down`);
    idp.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
  console.error(inUse
    ? `dev-idp: ${(err as Error).message}; is it already running? Change DEV_IDP_PORT / DEV_API_PORT otherwise`
    : err instanceof Error ? err.message : err);
  process.exit(1);
});
