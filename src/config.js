/**
 * Configuration: the one place that turns the environment into a frozen, typed {@link Config}.
 *
 * Every problem is reported at once ({@link ConfigError}), each line naming the setting, what is
 * wrong and an example of a valid value. Nothing else in src/ reads `process.env`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
/** Values that look like secrets but are well known; never accepted as `SESSION_SECRET` parts. */
const PLACEHOLDER_SECRETS = new Set(['keyboard cat', 'changeme', 'change-me', 'secret', 'password', 'some secret hurr', 'your-secret-here']);
/** The dev-idp's registered client; accepted only outside production. */
export const DEV_CLIENT_ID = 'bff-demo';
export const DEV_CLIENT_SECRET = 'dev-only-insecure-client-secret';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
/** True when `url`'s host is a loopback name or address. */
export function isLoopback(url) {
    return LOOPBACK_HOSTS.has(url.hostname);
}
const intFrom = (min, max) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const oneOf = (values) => z.enum(values, { error: `must be one of ${values.join(', ')}` });
const seconds = (min) => intFrom(min, 10 * 365 * 24 * 3600);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' });
/** Raw environment schema: one entry per documented setting (see README "Settings" and .env.example). */
const EnvSchema = z.object({
    /** `development` (default), `test` or `production`. Production refuses development conveniences. */
    NODE_ENV: oneOf(['development', 'test', 'production']).default('development'),
    /** TCP port the app listens on. Default 3000. */
    PORT: intFrom(0, 65535).default(3000),
    /** Public base URL of the app; the redirect URI is BASE_URL + /callback. Default http://localhost:$PORT. */
    BASE_URL: httpUrl.optional(),
    /** OpenID Provider issuer URL (discovery). Default: the dev-idp at http://localhost:4000. http only on loopback. */
    ISSUER_BASE_URL: httpUrl.default('http://localhost:4000'),
    /** OAuth client id registered at the IdP. Default matches the dev-idp. */
    CLIENT_ID: z.string().min(1, 'must not be empty').default(DEV_CLIENT_ID),
    /** OAuth client secret (client_secret_basic). Default matches the dev-idp; required in production. */
    CLIENT_SECRET: z.string().min(1, 'must not be empty').optional(),
    /** `code` (authorization code + PKCE, default) or `id_token`; both use response_mode=form_post. */
    RESPONSE_TYPE: oneOf(['code', 'id_token']).default('code'),
    /** Space-separated scopes. Default `openid profile email offline_access` (code) or `openid profile email`. */
    SCOPE: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'must be space-separated scope tokens').optional(),
    /** Comma-separated session signing keys, first signs, all verify. Required in production (>= 32 bytes each). */
    SESSION_SECRET: z.string().optional(),
    /** `sqlite` (default), `redis` or `memory` (tests only). */
    SESSION_STORE: oneOf(['sqlite', 'redis', 'memory']).default('sqlite'),
    /** SQLite file for sessions. Default .data/sessions.sqlite. */
    SESSION_SQLITE_PATH: z.string().min(1, 'must not be empty').optional(),
    /** Redis URL, required when SESSION_STORE=redis, e.g. redis://127.0.0.1:6379. */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
    /** Idle timeout in seconds, renewed by activity. Default 28800 (8 hours). */
    SESSION_IDLE_TIMEOUT: seconds(10).default(8 * 3600),
    /** Absolute session lifetime in seconds. Default 604800 (7 days). */
    SESSION_ABSOLUTE_TIMEOUT: seconds(10).default(7 * 24 * 3600),
    /** Accepted clock difference with the IdP, seconds. Default 30. */
    CLOCK_TOLERANCE: intFrom(0, 600).default(30),
    /** Refresh the access token when it expires within this many seconds. Default 60. */
    TOKEN_REFRESH_SKEW: intFrom(0, 3600).default(60),
    /** Timeout of every call to the IdP, seconds. Default 5. */
    IDP_TIMEOUT: intFrom(1, 120).default(5),
    /** Upstream API called by /api/remote/* with the user's access token. Default: the dev API. */
    REMOTE_API_URL: httpUrl.default('http://localhost:4100'),
    /** `1` when behind a TLS-terminating reverse proxy (trust X-Forwarded-*). Default 0. */
    TRUST_PROXY: oneOf(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
    /** pino log level. Default `info` (`silent` in tests). */
    LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    /** Directory for local state (generated development secret, SQLite file). Default .data. */
    DATA_DIR: z.string().min(1, 'must not be empty').default('.data'),
});
/** Thrown by {@link loadConfig} with every problem found, one line each. */
export class ConfigError extends Error {
    problems;
    constructor(problems) {
        super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
        this.problems = problems;
        this.name = 'ConfigError';
    }
}
/** Every setting the app reads, in schema order (README's table and .env.example list exactly these). */
export const SETTING_NAMES = Object.freeze(Object.keys(EnvSchema.shape));
/** A valid value of each setting, quoted in every configuration error about it. */
export const SETTING_EXAMPLES = Object.freeze({
    NODE_ENV: 'production', PORT: '3000', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com',
    CLIENT_ID: 'my-app', CLIENT_SECRET: 'the-client-secret-from-your-idp', RESPONSE_TYPE: 'code', SCOPE: 'openid profile email',
    SESSION_SECRET: '<48 random bytes, base64: openssl rand -base64 48>', SESSION_STORE: 'sqlite',
    SESSION_SQLITE_PATH: '.data/sessions.sqlite', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_IDLE_TIMEOUT: '28800',
    SESSION_ABSOLUTE_TIMEOUT: '604800', CLOCK_TOLERANCE: '30', TOKEN_REFRESH_SKEW: '60', IDP_TIMEOUT: '5',
    REMOTE_API_URL: 'https://api.example.com', TRUST_PROXY: '1', LOG_LEVEL: 'info', DATA_DIR: '.data',
});
/** Settings whose value is never echoed in an error (a Redis URL may hold a password). */
const SECRET_SETTINGS = new Set(['CLIENT_SECRET', 'SESSION_SECRET', 'REDIS_URL']);
/** `, got "…"` for a non-secret value (JSON-quoted, so the line stays one line), else nothing. */
const shown = (name, raw) => raw === undefined || SECRET_SETTINGS.has(name) ? '' : `, got ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`;
/** One line of a {@link ConfigError}: the setting, what is wrong, a valid example. */
const problem = (name, what) => `${name}: ${what} (example: ${name}=${SETTING_EXAMPLES[name]})`;
/**
 * Validates `env` and returns the frozen {@link Config}.
 * Each setting is parsed on its own, so one invalid value never hides another problem; rules that
 * combine settings run whenever the settings they read are valid.
 * In development without SESSION_SECRET a random secret is generated once and kept in DATA_DIR.
 * @param env usually `process.env` merged with `.env`; tests pass a literal object. Empty values count as unset.
 * @throws {ConfigError} listing every invalid or missing setting, one line each.
 */
export function loadConfig(env) {
    const problems = [];
    const valid = {};
    for (const name of SETTING_NAMES) {
        const raw = env[name];
        const parsed = EnvSchema.shape[name].safeParse(raw === '' ? undefined : raw);
        if (parsed.success)
            valid[name] = parsed.data;
        else
            problems.push(...new Set(parsed.error.issues.map((i) => problem(name, `${i.message}${shown(name, raw)}`))));
    }
    const ok = (...names) => names.every((n) => n in valid);
    const e = valid;
    const production = e.NODE_ENV === 'production';
    const baseUrl = ok('BASE_URL', 'PORT') ? new URL(e.BASE_URL ?? `http://localhost:${e.PORT}`) : undefined;
    if (baseUrl && (baseUrl.pathname !== '/' || baseUrl.search || baseUrl.hash))
        problems.push(problem('BASE_URL', 'must be an origin without path, query or fragment'));
    if (baseUrl && ok('NODE_ENV') && production && baseUrl.protocol === 'http:' && !isLoopback(baseUrl))
        problems.push(problem('BASE_URL', 'must be https:// in production'));
    const issuer = ok('ISSUER_BASE_URL') ? new URL(e.ISSUER_BASE_URL) : undefined;
    if (issuer && issuer.protocol === 'http:' && !isLoopback(issuer))
        problems.push(problem('ISSUER_BASE_URL', 'http:// is accepted only on a loopback host (localhost, 127.0.0.1, ::1); use https'));
    if (ok('NODE_ENV', 'CLIENT_SECRET') && production && (!e.CLIENT_SECRET || e.CLIENT_SECRET === DEV_CLIENT_SECRET))
        problems.push(problem('CLIENT_SECRET', 'is required in production and must not be the dev-idp default'));
    let sessionKeys = [];
    if (e.SESSION_SECRET) {
        sessionKeys = e.SESSION_SECRET.split(',').map((k) => k.trim()).filter(Boolean);
        if (sessionKeys.length === 0)
            problems.push(problem('SESSION_SECRET', 'is empty'));
        for (const k of sessionKeys) {
            if (PLACEHOLDER_SECRETS.has(k.toLowerCase()))
                problems.push(problem('SESSION_SECRET', 'is a well-known placeholder, not a secret'));
            else if (Buffer.byteLength(k) < 32)
                problems.push(problem('SESSION_SECRET', 'each key must be at least 32 bytes'));
        }
    }
    else if (ok('NODE_ENV') && production) {
        problems.push(problem('SESSION_SECRET', 'is required when NODE_ENV=production'));
    }
    if (ok('SESSION_STORE', 'REDIS_URL') && e.SESSION_STORE === 'redis' && !e.REDIS_URL)
        problems.push(problem('REDIS_URL', 'is required when SESSION_STORE=redis'));
    if (ok('SESSION_IDLE_TIMEOUT', 'SESSION_ABSOLUTE_TIMEOUT') && e.SESSION_IDLE_TIMEOUT > e.SESSION_ABSOLUTE_TIMEOUT)
        problems.push(problem('SESSION_IDLE_TIMEOUT', 'must not exceed SESSION_ABSOLUTE_TIMEOUT'));
    if (problems.length > 0 || !baseUrl || !issuer)
        throw new ConfigError(problems);
    const clientSecret = e.CLIENT_SECRET ?? (production ? undefined : DEV_CLIENT_SECRET);
    const insecureIssuer = issuer.protocol === 'http:';
    if (sessionKeys.length === 0)
        sessionKeys = [developmentSecret(e.DATA_DIR)];
    const defaultScope = e.RESPONSE_TYPE === 'code' ? 'openid profile email offline_access' : 'openid profile email';
    return Object.freeze({
        env: e.NODE_ENV,
        port: e.PORT,
        baseUrl,
        redirectUri: new URL('/callback', baseUrl),
        issuer,
        insecureIssuer,
        clientId: e.CLIENT_ID,
        clientSecret: clientSecret ?? '',
        responseType: e.RESPONSE_TYPE,
        scope: e.SCOPE ?? defaultScope,
        sessionKeys: Object.freeze(sessionKeys),
        sessionStore: e.SESSION_STORE,
        sqlitePath: e.SESSION_SQLITE_PATH ?? path.join(e.DATA_DIR, 'sessions.sqlite'),
        redisUrl: e.REDIS_URL,
        idleTimeout: e.SESSION_IDLE_TIMEOUT,
        absoluteTimeout: e.SESSION_ABSOLUTE_TIMEOUT,
        clockTolerance: e.CLOCK_TOLERANCE,
        refreshSkew: e.TOKEN_REFRESH_SKEW,
        idpTimeout: e.IDP_TIMEOUT,
        remoteApiUrl: new URL(e.REMOTE_API_URL),
        trustProxy: e.TRUST_PROXY,
        secureCookies: baseUrl.protocol === 'https:',
        logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
        dataDir: e.DATA_DIR,
    });
}
/** Reads (or creates once, mode 0600) the development session secret under `dataDir`. */
function developmentSecret(dataDir) {
    const file = path.join(dataDir, 'session-secret');
    if (existsSync(file))
        return readFileSync(file, 'utf8').trim();
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
}
/**
 * The environment as the app sees it: `.env` (if present, parsed without touching `process.env`)
 * overridden by the real environment.
 */
export async function readEnvironment(envFile = '.env') {
    const { parse } = await import('dotenv');
    const fromFile = existsSync(envFile) ? parse(readFileSync(envFile)) : {};
    return { ...fromFile, ...process.env };
}
