/**
 * The logger the package writes to: any object with `debug/info/warn/error(fields, message)`
 * (pino, bunyan-style, or a few lines around `console`). The package never writes a token, code,
 * `state`, `nonce`, cookie value or session id; a session is named by {@link sessionIdHash}.
 */
import { createHash } from 'node:crypto';

/** One log method: structured fields first, then a short message. */
export type LogMethod = (fields: Record<string, unknown>, message?: string) => void;

/** What the package needs of a logger. pino's `Logger` fits as it is. */
export interface BffLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** A logger that drops everything (the default). */
export const silentLogger: BffLogger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/** A stable, non-reversible name for a session id, safe to log: 12 characters of its SHA-256, base64url. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 12);
}
