/**
 * Entry point of `npm run start:app`: validates the configuration (exit 1 listing every
 * problem, no stack trace), waits (up to 15 s, quietly) for the bundled dev-idp when that is the
 * issuer, opens the session store, serves the app, and on SIGTERM/SIGINT stops
 * accepting connections, lets requests in flight finish (up to 10 s), closes the store, exits 0.
 */
import { createApp } from './app.ts';
import { ConfigError, DEV_CLIENT_SECRET, loadConfig, readEnvironment, type Config } from './config.ts';
import { createLogger, flushLogs, prettyLogs } from './log.ts';
import { listen } from './server.ts';
import { startTelemetry, type RunningTelemetry } from './telemetry.ts';
import { createStore } from './session/create-store.ts';
import { waitForIssuer } from './wait-for-issuer.ts';

/** Milliseconds that requests in flight get to finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long the app waits, quietly, for the bundled dev-idp before its discovery warns and retries as usual. */
const DEV_IDP_WAIT_MS = 15_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(await readEnvironment());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: config.logLevel, pretty: prettyLogs(config.env, process.stdout.isTTY === true, config.logFormat) });
  if (config.env !== 'production' && config.clientSecret === DEV_CLIENT_SECRET) {
    // Said once, loudly. With the dev-idp it is what `npm start` is for, so a clean start carries no
    // warning; with the dev-idp's secret sent to another issuer, something is misconfigured.
    const level = config.issuerIsDevIdp ? 'info' : 'warn';
    logger[level]({ event: 'app.development_mode' }, 'DEVELOPMENT MODE: using the dev-idp client secret and a generated session secret; never use these settings in production');
  }
  if (config.env === 'production' && config.insecureIssuer) {
    logger.warn({ event: 'app.insecure_dev_issuer', issuer: config.issuer.href }, 'ALLOW_INSECURE_DEV_ISSUER=true: production settings against an http:// loopback (development) IdP; never for real users');
  }
  // A crash still writes its reason and whatever the buffered log held.
  process.on('uncaughtException', (err) => {
    logger.fatal({ event: 'app.crashed', err }, 'uncaught exception; exiting');
    void flushLogs(logger).finally(() => process.exit(1));
  });
  if (config.issuerIsDevIdp) {
    // Started together with the app: give it a moment before discovery starts warning and retrying.
    await waitForIssuer(config.issuer, {
      timeoutMs: DEV_IDP_WAIT_MS,
      onWaiting: () => logger.info({ event: 'idp.waiting', issuer: config.issuer.href, waitMs: DEV_IDP_WAIT_MS }, `waiting up to ${DEV_IDP_WAIT_MS / 1000} s for the dev-idp at ${config.issuer.origin}`),
    });
  }
  // Before the app: the package reads the OpenTelemetry providers once, when the BFF is created.
  let telemetry: RunningTelemetry | undefined;
  try {
    telemetry = await startTelemetry(config);
  } catch (err) {
    // The development default port may be taken by another checkout: run without metrics. A port set on purpose must work.
    if (!config.metricsPortDefaulted) throw new Error(`the metrics endpoint could not listen on ${config.metricsHost}:${config.metricsPort} (${(err as { code?: string }).code ?? String(err)})`);
    // Not a warning: a second checkout running beside the first is normal in development.
    logger.info({ event: 'telemetry.metrics_port_unavailable', port: config.metricsPort, err: (err as { code?: string }).code ?? String(err) }, `metrics endpoint not started: port ${config.metricsPort} is not available (set METRICS_PORT)`);
    telemetry = await startTelemetry({ ...config, metricsPort: undefined });
  }
  if (telemetry) logger.info({ event: 'telemetry.started', metricsUrl: telemetry.metricsUrl, tracing: telemetry.tracing }, telemetry.metricsUrl ? `metrics at ${telemetry.metricsUrl}` : 'OpenTelemetry export started');
  const store = await createStore(config, logger);
  const app = createApp(config, { store, logger });
  // An IdP that cannot serve the settings (PUSHED_AUTHORIZATION_REQUESTS=always without PAR, DPOP=1
  // without DPoP) is a configuration error: stop rather than serve a site nobody can log in to.
  app.bff.whenReady().catch((err: unknown) => {
    logger.fatal({ event: 'app.idp_unsuitable', reason: err instanceof Error ? err.message : String(err) }, 'the IdP cannot serve these settings; exiting');
    void flushLogs(logger).finally(() => process.exit(1));
  });
  const running = await listen(app.koa, config.port, undefined, app.securityHeaders);
  logger.info({ event: 'app.listening', url: config.baseUrl.href, port: running.port, issuer: config.issuer.href, store: store.kind }, `app listening on ${config.baseUrl.href}`);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    // A second signal (e.g. `npm start`'s --kill-others after Ctrl-C) must not cut the grace period short.
    if (stopping) return;
    stopping = true;
    // Stop listening first: once this line is logged, new connections are refused.
    const closed = running.close(SHUTDOWN_GRACE_MS);
    logger.info({ event: 'app.stopping', signal, graceMs: SHUTDOWN_GRACE_MS }, 'shutting down: no new connections, waiting for requests in flight');
    try {
      await closed;
      await app.close();
      await store.close();
      await telemetry?.shutdown().catch((err: unknown) => logger.warn({ event: 'telemetry.shutdown_failed', err: String(err) }, 'telemetry shutdown failed'));
      logger.info({ event: 'app.stopped', signal }, 'shutdown complete');
      await flushLogs(logger);
      process.exit(0);
    } catch (err) {
      logger.error({ event: 'app.stop_failed', err: String(err) }, 'shutdown failed');
      await flushLogs(logger);
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

main().catch((err: unknown) => {
  process.stderr.write(`Startup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
