/**
 * Waiting for an IdP that is starting at the same time as the app: `npm start` runs the app and
 * the bundled dev-idp side by side, and the dev-idp is usually ready a second after the app.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForIssuerOptions {
  /** Milliseconds after which to give up. */
  timeoutMs: number;
  /** Milliseconds between tries, also the bound of each try. Default 250. */
  intervalMs?: number;
  /** Called once, when the first try fails (the IdP is not up yet). */
  onWaiting?: () => void;
}

/**
 * Polls the issuer's discovery document (OpenID Connect Discovery 1.0, section 4) until it
 * answers 200. Resolves true then, or false after `timeoutMs`; never rejects. The caller then
 * creates the app, whose own discovery (with its warnings and retries) takes over either way.
 */
export async function waitForIssuer(issuer: URL, options: WaitForIssuerOptions): Promise<boolean> {
  const discovery = `${issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const interval = options.intervalMs ?? 250;
  const deadline = Date.now() + options.timeoutMs;
  for (let tries = 1; ; tries++) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    try {
      const res = await fetch(discovery, { signal: AbortSignal.timeout(Math.min(Math.max(interval, 100), left)) });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // Not listening yet, or too slow: try again.
    }
    if (tries === 1) options.onWaiting?.();
    await sleep(Math.max(0, Math.min(interval, deadline - Date.now())));
  }
}
