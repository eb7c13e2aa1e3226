/**
 * Entry point of `npm run start:app`: validates the configuration (exit 1 listing every
 * problem), opens the session store, serves the app, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { createApp } from './app.ts';
import { ConfigError, loadConfig, readEnvironment } from './config.ts';
import { createLogger } from './log.ts';
import { listen } from './server.ts';
import { createStore } from './session/create-store.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(await readEnvironment());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY && config.env === 'development' });
  if (config.env !== 'production' && config.clientSecret === 'dev-only-insecure-client-secret') {
    logger.warn('DEVELOPMENT MODE: using the dev-idp client secret and a generated session secret; never use these settings in production');
  }
  const store = await createStore(config, logger);
  const app = createApp(config, { store, logger });
  const running = await listen(app.koa, config.port);
  logger.info({ url: config.baseUrl.href, issuer: config.issuer.href, store: store.kind }, `app listening on ${config.baseUrl.href}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await running.close(10_000);
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Startup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
