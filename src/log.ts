/**
 * Structured JSON logs (pino). Secrets never reach a log line: cookies and authorization headers
 * are not logged at all, sessions are named by a hash of their id ({@link sessionIdHash}).
 */
import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Defence in depth: fields that would hold a secret if someone logged the wrong object (a whole
 * session, a token response, request headers). The code never logs them on purpose; the
 * secrets test (test/integration/log-secrets.test.ts) checks the output, not this list.
 */
const REDACTED = [
  'password', 'token', '*.token', 'cookie', '*.cookie', 'authorization', 'session', 'sessionId',
  'idToken', 'accessToken', 'refreshToken', 'id_token', 'access_token', 'refresh_token', 'code_verifier',
  'client_secret', 'clientSecret', 'csrfSecret', 'headers.cookie', 'headers.authorization',
  'req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]',
  '*.idToken', '*.accessToken', '*.refreshToken', '*.id_token', '*.access_token', '*.refresh_token',
];

/**
 * Creates the app logger. `destination` lets tests capture output. Without it, JSON lines go to
 * stdout through an asynchronous destination (sonic-boom): a line is written as soon as the
 * previous write is done, and lines that arrive meanwhile go out together in one write (no
 * minimum size: a quiet server's lines are never held back). A synchronous write per request line
 * cost about a third of a trivial route's throughput. Call {@link flushLogs} before
 * `process.exit` (pino also flushes it synchronously on a normal exit).
 */
export function createLogger(options: { level: string; pretty?: boolean; destination?: NodeJS.WritableStream }): Logger {
  const base = { level: options.level, base: undefined, redact: { paths: REDACTED, censor: '[redacted]' } };
  if (options.destination) return pino(base, options.destination);
  // One line per event (fields as JSON after the message), local time: easy to scan next to the dev-idp's lines.
  if (options.pretty) return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  return pino(base, pino.destination({ dest: 1, sync: false }));
}

/**
 * A logger for the request lines only, writing to `logger`'s destination at its level, without
 * redaction: a request line has fixed fields (request id, method, path without query, status,
 * duration) none of which a redaction path names, so redacting it would be per-request work that
 * removes nothing.
 */
export function requestLineLogger(logger: Logger): Logger {
  const stream = (logger as unknown as Record<symbol, NodeJS.WritableStream>)[pino.symbols.streamSym];
  return pino({ level: logger.level, base: undefined }, stream);
}

/** Writes out what the logger buffered; resolves when done (or at once when nothing is pending). */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/**
 * True when logs should be pretty-printed (pino-pretty) rather than JSON: only for a person
 * watching a terminal in development. Production, tests and anything piped get JSON lines.
 * `format` (LOG_FORMAT) decides when set: `npm start` sets `pretty` when its own output is a
 * terminal, since the app behind it only sees a pipe.
 */
export function prettyLogs(env: 'development' | 'test' | 'production', stdoutIsTTY: boolean, format?: 'json' | 'pretty'): boolean {
  if (format) return format === 'pretty';
  return env === 'development' && stdoutIsTTY;
}

/** A stable, non-reversible name for a session id, safe to log. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 12);
}
