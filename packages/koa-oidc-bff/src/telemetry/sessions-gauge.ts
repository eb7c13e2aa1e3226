/**
 * `bff_sessions_active{store}`: live sessions as the store counts them, sampled at most every
 * 30 seconds whatever the scrape interval (a count can be a table scan), bounded to 1 s per sample.
 * Stores without `countLive` report nothing.
 */
import type { SessionStore } from '../session/store.ts';
import type { Telemetry } from './telemetry.ts';

/** Milliseconds between two counts. */
export const SESSIONS_SAMPLE_MS = 30_000;

/** Registers the gauge over `store` (the raw store: a count is not a request's store call). */
export function observeActiveSessions(store: SessionStore, t: Telemetry, now: () => number): void {
  const count = store.countLive?.bind(store);
  if (!count) return;
  const labels = Object.freeze({ store: store.kind });
  let last: { at: number; value: number } | undefined;
  let pending: Promise<void> | undefined;
  const sample = async () => {
    const value = await Promise.race([count(now()), new Promise<undefined>((resolve) => setTimeout(resolve, 1000, undefined).unref())]);
    if (value !== undefined) last = { at: Date.now(), value };
  };
  t.meter.createObservableGauge('bff_sessions_active', { description: 'Live sessions in the store (sampled at most every 30 s).', unit: '1' }).addCallback(async (result) => {
    if (!last || Date.now() - last.at >= SESSIONS_SAMPLE_MS) {
      pending ??= sample().catch(() => undefined).finally(() => (pending = undefined));
      await pending;
    }
    if (last) result.observe(last.value, labels);
  });
}
