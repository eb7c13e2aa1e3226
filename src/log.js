/**
 * Structured JSON logs (pino). Secrets never reach a log line: cookies and authorization headers
 * are not logged at all, sessions are named by a hash of their id ({@link sessionIdHash}).
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
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
/** Creates the app logger. `destination` lets tests capture output. */
export function createLogger(options) {
    const base = { level: options.level, base: undefined, redact: { paths: REDACTED, censor: '[redacted]' } };
    if (options.destination)
        return pino(base, options.destination);
    if (options.pretty)
        return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
    return pino(base);
}
/**
 * True when logs should be pretty-printed (pino-pretty) rather than JSON: only for a person
 * watching a terminal in development. Production, tests and anything piped get JSON lines.
 */
export function prettyLogs(env, stdoutIsTTY) {
    return env === 'development' && stdoutIsTTY;
}
/** A stable, non-reversible name for a session id, safe to log. */
export function sessionIdHash(id) {
    return createHash('sha256').update(id).digest('base64url').slice(0, 12);
}
