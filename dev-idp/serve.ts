import { startDevIdp, type DevIdpOptions } from './index.ts';

/**
 * Runs the dev-idp as the whole process (`npm run start:idp`, the CLI): starts it, and on
 * SIGINT or SIGTERM closes it and exits 0. A failure to start prints one message and exits 1;
 * a port in use adds `portHint` (which setting or flag to change).
 */
export function serveUntilSignal(options: DevIdpOptions, portHint: string): void {
  startDevIdp(options).then((idp) => {
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
  }, (err: unknown) => {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    console.error(inUse
      ? `dev-idp: ${(err as Error).message}; is it already running? ${portHint}`
      : err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
