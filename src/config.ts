/**
 * Configuration: the one place that turns the environment into a frozen, typed {@link Config}.
 *
 * Every problem is reported at once ({@link ConfigError}), each line naming the setting, what is
 * wrong and an example of a valid value. Nothing else in src/ reads `process.env`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkOptions, type BffOptions } from 'koa-oidc-bff';
import { z } from 'zod';

/** The dev-idp's registered client; accepted only outside production. */
export const DEV_CLIENT_ID = 'bff-demo';
export const DEV_CLIENT_SECRET = 'dev-only-insecure-client-secret';
/** The dev-idp's second-factor acr: the default STEP_UP_ACR when it is the issuer. */
export const DEV_IDP_STEP_UP_ACR = 'urn:dev-idp:acr:mfa';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True when `url`'s host is a loopback name or address. */
export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname);
}

const intFrom = (min: number, max: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });
const seconds = (min: number) => intFrom(min, 10 * 365 * 24 * 3600);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' });

/** Raw environment schema: one entry per documented setting (see README "Settings" and .env.example). */
const EnvSchema = z.object({
  /** `development` (default), `test` or `production`. Production refuses development conveniences. */
  NODE_ENV: oneOf(['development', 'test', 'production']).default('development'),
  /** TCP port the app listens on. Default 3000. */
  PORT: intFrom(0, 65535).default(3000),
  /** Public base URL of the app; the redirect URI is BASE_URL + /callback. Default http://localhost:$PORT. */
  BASE_URL: httpUrl.optional(),
  /** OpenID Provider issuer URL (discovery). Default: the dev-idp at http://localhost:4000. http only on loopback (and in production only with ALLOW_INSECURE_DEV_ISSUER=true). */
  ISSUER_BASE_URL: httpUrl.optional(),
  /** `true` lets NODE_ENV=production use an http:// loopback issuer (a development IdP with published passwords): local production-like runs and benchmarks only. Default false. */
  ALLOW_INSECURE_DEV_ISSUER: oneOf(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** OAuth client id registered at the IdP. Default matches the dev-idp. */
  CLIENT_ID: z.string().min(1, 'must not be empty').default(DEV_CLIENT_ID),
  /** OAuth client secret (client_secret_basic or _post). Default matches the dev-idp; required in production unless CLIENT_AUTH_METHOD=private_key_jwt. */
  CLIENT_SECRET: z.string().min(1, 'must not be empty').optional(),
  /** Client authentication at the IdP: `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`. */
  CLIENT_AUTH_METHOD: oneOf(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
  /** private_key_jwt: the private key itself (PEM, or a JWK as JSON). Secret: never echoed or logged. */
  CLIENT_PRIVATE_KEY: z.string().min(1, 'must not be empty').optional(),
  /** private_key_jwt: file holding the private key (PEM or JWK JSON), instead of CLIENT_PRIVATE_KEY. */
  CLIENT_PRIVATE_KEY_FILE: z.string().min(1, 'must not be empty').optional(),
  /** private_key_jwt: the key's `kid`. Default: the JWK's kid, else its RFC 7638 thumbprint. */
  CLIENT_KEY_ID: z.string().min(1, 'must not be empty').optional(),
  /** Pushed authorization requests (RFC 9126): `auto` (default: when the IdP advertises them), `always`, `never`. */
  PUSHED_AUTHORIZATION_REQUESTS: oneOf(['auto', 'always', 'never']).default('auto'),
  /** `1`: DPoP-bound tokens (RFC 9449), one key pair per session kept with its tokens. Default 0. */
  DPOP: oneOf(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  /** Space-separated acr values "End all other sessions" requires (step-up, RFC 9470). Default: the dev-idp's second factor when it is the issuer, else none. */
  STEP_UP_ACR: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'must be space-separated acr values').optional(),
  /** Seconds: "End all other sessions" requires a login at most this old (step-up with max_age). Default none. */
  STEP_UP_MAX_AGE: seconds(0).optional(),
  /** `code` (authorization code + PKCE, default) or `id_token`; both use response_mode=form_post. */
  RESPONSE_TYPE: oneOf(['code', 'id_token']).default('code'),
  /** Space-separated scopes. Default `openid profile email offline_access` (code) or `openid profile email`. */
  SCOPE: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'must be space-separated scope tokens').optional(),
  /** Comma-separated session signing keys, first signs, all verify. Required in production (>= 32 bytes each). */
  SESSION_SECRET: z.string().optional(),
  /** `sqlite` (default), `redis`, `redis-cluster` or `memory` (tests only). */
  SESSION_STORE: oneOf(['sqlite', 'redis', 'redis-cluster', 'memory']).default('sqlite'),
  /** SQLite file for sessions. Default .data/sessions.sqlite. */
  SESSION_SQLITE_PATH: z.string().min(1, 'must not be empty').optional(),
  /** Redis URL, required when SESSION_STORE=redis, e.g. redis://127.0.0.1:6379. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Redis Cluster seed nodes `host:port,host:port`, required when SESSION_STORE=redis-cluster (any nodes; the rest are discovered). */
  REDIS_CLUSTER_NODES: z.string().regex(/^\s*(?:\[[^\]]+\]|[^:,\s]+):\d{1,5}\s*(?:,\s*(?:\[[^\]]+\]|[^:,\s]+):\d{1,5}\s*)*$/, 'must be host:port,host:port').optional(),
  /** Replicas that must confirm a login or logout (Redis WAIT) before it is acknowledged, else 503. Default 1 with redis-cluster, 0 with redis. */
  REDIS_WAIT_REPLICAS: intFrom(0, 16).optional(),
  /** Milliseconds a login or logout waits for those replicas. Default 500. */
  REDIS_WAIT_TIMEOUT_MS: intFrom(10, 5000).default(500),
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
  /** Logins one client IP may start per minute (GET /login; 429 beyond). Shared by all instances with SESSION_STORE=redis. Default 60. */
  LOGIN_RATE_LIMIT_PER_IP: intFrom(1, 1_000_000).default(60),
  /** Logins one instance may start per second, all clients together (429 beyond). Default 100. */
  LOGIN_RATE_LIMIT_PER_INSTANCE: intFrom(1, 1_000_000).default(100),
  /** Upstream API called by /api/remote/* with the user's access token. Default: the dev API. */
  REMOTE_API_URL: httpUrl.optional(),
  /** `1` when behind a TLS-terminating reverse proxy (trust X-Forwarded-*). Default 0. */
  TRUST_PROXY: oneOf(['0', '1', 'true', 'false']).default('0').transform((v) => v === '1' || v === 'true'),
  /** pino log level. Default `info` (`silent` in tests). */
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** `json` or `pretty` (pino-pretty). Default: pretty in development on a terminal, else json; pretty is refused in production. */
  LOG_FORMAT: oneOf(['json', 'pretty']).optional(),
  /** Directory for local state (generated development secret, SQLite file). Default .data. */
  DATA_DIR: z.string().min(1, 'must not be empty').default('.data'),
  /** The dev-idp's port (its own setting, checked by the dev-idp); read to recognise it as the issuer. Default 4000. */
  DEV_IDP_PORT: z.string().optional(),
  /** The dev-idp's issuer (its own setting, checked by the dev-idp); its port wins over DEV_IDP_PORT, as in the dev-idp. */
  DEV_IDP_ISSUER: z.string().optional(),
  /** The dev API's port (the dev-idp's own setting); the default REMOTE_API_URL follows it. Default 4100. */
  DEV_API_PORT: z.string().optional(),
  /** Port of the Prometheus endpoint (GET /metrics), never the app's PORT. Default 9464 in development, off otherwise. */
  METRICS_PORT: intFrom(0, 65535).optional(),
  /** Interface of the metrics endpoint. Default 127.0.0.1, or 0.0.0.0 in production (the scraper is elsewhere). */
  METRICS_HOST: z.string().min(1, 'must not be empty').optional(),
  /** OTLP/HTTP collector base URL (OpenTelemetry's own variable): traces and metrics are exported there when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
});

/** Validated, frozen application configuration. */
export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly port: number;
  readonly baseUrl: URL;
  /** BASE_URL + /callback: the only redirect URI. */
  readonly redirectUri: URL;
  readonly issuer: URL;
  /** True when the issuer is http:// (allowed on loopback only; in production only with ALLOW_INSECURE_DEV_ISSUER). */
  readonly insecureIssuer: boolean;
  /** Logins one client IP may start per minute. */
  readonly loginRateLimitPerIp: number;
  /** Logins one instance may start per second. */
  readonly loginRateLimitPerInstance: number;
  readonly clientId: string;
  /** Empty with private_key_jwt. */
  readonly clientSecret: string;
  readonly clientAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** The private_key_jwt key (PEM or JWK JSON text); undefined for the secret methods. Never logged. */
  readonly clientPrivateKey: string | undefined;
  readonly clientKeyId: string | undefined;
  readonly pushedAuthorizationRequests: 'auto' | 'always' | 'never';
  readonly dpop: boolean;
  /** Step-up of "End all other sessions": acr values (space-separated) and/or max age in seconds; both undefined: none. */
  readonly stepUp: { acr: string | undefined; maxAge: number | undefined };
  readonly responseType: 'code' | 'id_token';
  readonly scope: string;
  /** Session cookie signing keys; the first signs. */
  readonly sessionKeys: readonly string[];
  readonly sessionStore: 'sqlite' | 'redis' | 'redis-cluster' | 'memory';
  readonly sqlitePath: string;
  readonly redisUrl: string | undefined;
  /** Cluster seed nodes, `host:port,...` (SESSION_STORE=redis-cluster). */
  readonly redisClusterNodes: string | undefined;
  /** Replicas a login or logout waits for (Redis WAIT); 0: none. */
  readonly redisWaitReplicas: number;
  /** Milliseconds. */
  readonly redisWaitTimeoutMs: number;
  /** Seconds. */
  readonly idleTimeout: number;
  /** Seconds. */
  readonly absoluteTimeout: number;
  /** Seconds. */
  readonly clockTolerance: number;
  /** Seconds. */
  readonly refreshSkew: number;
  /** Seconds. */
  readonly idpTimeout: number;
  readonly remoteApiUrl: URL;
  readonly trustProxy: boolean;
  /** Cookie Secure flag, derived from BASE_URL's scheme. */
  readonly secureCookies: boolean;
  readonly logLevel: string;
  /** LOG_FORMAT when set; undefined: pretty in development on a terminal, JSON otherwise. */
  readonly logFormat: 'json' | 'pretty' | undefined;
  readonly dataDir: string;
  /**
   * True outside production when the issuer is the bundled dev-idp: an http loopback issuer on the
   * dev-idp's port (DEV_IDP_ISSUER's, else DEV_IDP_PORT, else 4000). `npm start` starts both at
   * once, so the app waits for it quietly before loading discovery.
   */
  readonly issuerIsDevIdp: boolean;
  /** Port of the Prometheus endpoint; undefined: none. */
  readonly metricsPort: number | undefined;
  /** True when metricsPort is the development default (9464) rather than METRICS_PORT. */
  readonly metricsPortDefaulted: boolean;
  readonly metricsHost: string;
  /** OTLP/HTTP export of traces and metrics, when set. */
  readonly otlpEndpoint: URL | undefined;
  /** Per signal: a TLS file setting (`OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]CERTIFICATE`, `_CLIENT_CERTIFICATE`, `_CLIENT_KEY`) is set, general or for that signal. */
  readonly otlpTlsFiles: { readonly traces: boolean; readonly metrics: boolean };
}

/** Thrown by {@link loadConfig} with every problem found, one line each. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = z.infer<typeof EnvSchema>;
/** The name of one setting (an environment variable). */
export type SettingName = keyof Env;

/** Every setting the app reads, in schema order (README's table and .env.example list exactly these). */
export const SETTING_NAMES = Object.freeze(Object.keys(EnvSchema.shape) as SettingName[]);

/** A valid value of each setting, quoted in every configuration error about it. */
export const SETTING_EXAMPLES: Readonly<Record<SettingName, string>> = Object.freeze({
  NODE_ENV: 'production', PORT: '3000', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com', ALLOW_INSECURE_DEV_ISSUER: 'false',
  CLIENT_ID: 'my-app', CLIENT_SECRET: 'the-client-secret-from-your-idp', RESPONSE_TYPE: 'code', SCOPE: 'openid profile email',
  SESSION_SECRET: '<48 random bytes, base64: openssl rand -base64 48>', SESSION_STORE: 'sqlite',
  SESSION_SQLITE_PATH: '.data/sessions.sqlite', REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_CLUSTER_NODES: '10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '500', SESSION_IDLE_TIMEOUT: '28800',
  SESSION_ABSOLUTE_TIMEOUT: '604800', CLOCK_TOLERANCE: '30', TOKEN_REFRESH_SKEW: '60', IDP_TIMEOUT: '5',
  LOGIN_RATE_LIMIT_PER_IP: '60', LOGIN_RATE_LIMIT_PER_INSTANCE: '100',
  REMOTE_API_URL: 'https://api.example.com', CLIENT_AUTH_METHOD: 'client_secret_post',
  CLIENT_PRIVATE_KEY: '<PEM or JWK JSON; prefer CLIENT_PRIVATE_KEY_FILE>', CLIENT_PRIVATE_KEY_FILE: '<path of the PEM or JWK file, e.g. /run/secrets/client-key.pem>',
  CLIENT_KEY_ID: 'app-key-2026-12', PUSHED_AUTHORIZATION_REQUESTS: 'auto', DPOP: '1', STEP_UP_ACR: 'urn:dev-idp:acr:mfa', STEP_UP_MAX_AGE: '300', TRUST_PROXY: '1', LOG_LEVEL: 'info', LOG_FORMAT: 'json', DATA_DIR: '.data',
  DEV_IDP_PORT: '4000', DEV_IDP_ISSUER: 'http://localhost:4000', DEV_API_PORT: '4100',
  METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
});

/** The Prometheus exporter's conventional port, the development default of METRICS_PORT. */
export const DEFAULT_METRICS_PORT = 9464;

/** Settings whose value is never echoed in an error (a Redis URL may hold a password). */
const SECRET_SETTINGS = new Set<SettingName>(['CLIENT_SECRET', 'SESSION_SECRET', 'REDIS_URL', 'CLIENT_PRIVATE_KEY']);
/** `, got "…"` for a non-secret value (JSON-quoted, so the line stays one line), else nothing. */
const shown = (name: SettingName, raw: string | undefined) =>
  raw === undefined || SECRET_SETTINGS.has(name) ? '' : `, got ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`;

/** One line of a {@link ConfigError}: the setting, what is wrong, a valid example. */
const problem = (name: SettingName, what: string) => `${name}: ${what} (example: ${name}=${SETTING_EXAMPLES[name]})`;

/**
 * Validates `env` and returns the frozen {@link Config}.
 * Each setting is parsed on its own, so one invalid value never hides another problem; rules that
 * combine settings run whenever the settings they read are valid.
 * In development without SESSION_SECRET a random secret is generated once and kept in DATA_DIR.
 * @param env usually `process.env` merged with `.env`; tests pass a literal object. Empty values count as unset.
 * @throws {ConfigError} listing every invalid or missing setting, one line each.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const valid: Partial<Env> = {};
  for (const name of SETTING_NAMES) {
    const raw = env[name];
    const parsed = (EnvSchema.shape[name] as z.ZodType).safeParse(raw === '' ? undefined : raw);
    if (parsed.success) (valid as Record<string, unknown>)[name] = parsed.data;
    else problems.push(...new Set(parsed.error.issues.map((i) => problem(name, `${i.message}${shown(name, raw)}`))));
  }
  const ok = (...names: SettingName[]) => names.every((n) => n in valid);
  const given = (name: SettingName) => env[name] !== undefined && env[name] !== '';
  const e = valid as Env;
  const production = e.NODE_ENV === 'production';

  // The defaults name this machine and the dev-idp: a deployment must say where it runs and logs in.
  if (ok('NODE_ENV') && production) {
    if (!given('BASE_URL')) problems.push(problem('BASE_URL', 'is required when NODE_ENV=production; the default http://localhost:$PORT is for development'));
    if (!given('ISSUER_BASE_URL')) problems.push(problem('ISSUER_BASE_URL', 'is required when NODE_ENV=production; the default is the dev-idp'));
    if (ok('LOG_FORMAT') && e.LOG_FORMAT === 'pretty') problems.push(problem('LOG_FORMAT', 'pretty is for development; production logs JSON lines'));
  }

  const baseUrl = ok('BASE_URL', 'PORT') ? new URL(e.BASE_URL ?? `http://localhost:${e.PORT}`) : undefined;
  // Without ISSUER_BASE_URL (development): the bundled dev-idp where its own settings put it.
  const issuer = ok('ISSUER_BASE_URL') ? new URL(e.ISSUER_BASE_URL ?? devIdpIssuer(e)) : undefined;

  const keyJwt = ok('CLIENT_AUTH_METHOD') && e.CLIENT_AUTH_METHOD === 'private_key_jwt';
  if (ok('NODE_ENV', 'CLIENT_SECRET', 'CLIENT_AUTH_METHOD') && production && !keyJwt && (!e.CLIENT_SECRET || e.CLIENT_SECRET === DEV_CLIENT_SECRET)) problems.push(problem('CLIENT_SECRET', 'is required in production and must not be the dev-idp default'));
  let clientPrivateKey: string | undefined;
  if (keyJwt) {
    if (given('CLIENT_SECRET')) problems.push(problem('CLIENT_SECRET', 'must be unset with CLIENT_AUTH_METHOD=private_key_jwt'));
    if (given('CLIENT_PRIVATE_KEY') && given('CLIENT_PRIVATE_KEY_FILE')) problems.push(problem('CLIENT_PRIVATE_KEY_FILE', 'set either CLIENT_PRIVATE_KEY or CLIENT_PRIVATE_KEY_FILE, not both'));
    else if (ok('CLIENT_PRIVATE_KEY_FILE') && e.CLIENT_PRIVATE_KEY_FILE) {
      try {
        clientPrivateKey = readFileSync(e.CLIENT_PRIVATE_KEY_FILE, 'utf8');
      } catch (err) {
        problems.push(problem('CLIENT_PRIVATE_KEY_FILE', `cannot be read (${(err as { code?: string }).code ?? 'error'})`));
      }
    } else if (ok('CLIENT_PRIVATE_KEY') && e.CLIENT_PRIVATE_KEY) clientPrivateKey = e.CLIENT_PRIVATE_KEY;
    else problems.push(problem('CLIENT_PRIVATE_KEY', 'or CLIENT_PRIVATE_KEY_FILE is required with CLIENT_AUTH_METHOD=private_key_jwt'));
  } else if (given('CLIENT_PRIVATE_KEY') || given('CLIENT_PRIVATE_KEY_FILE')) {
    problems.push(problem('CLIENT_AUTH_METHOD', 'must be private_key_jwt when a client private key is set'));
  }

  let sessionKeys: string[] = [];
  if (e.SESSION_SECRET) {
    sessionKeys = e.SESSION_SECRET.split(',').map((k) => k.trim()).filter(Boolean);
    if (sessionKeys.length === 0) problems.push(problem('SESSION_SECRET', 'is empty'));
  } else if (ok('NODE_ENV') && production) {
    problems.push(problem('SESSION_SECRET', 'is required when NODE_ENV=production'));
  }
  if (ok('NODE_ENV') && production) {
    // A loopback http issuer is a development IdP (the dev-idp publishes its passwords): never by accident in production.
    if (issuer && given('ISSUER_BASE_URL') && ok('ALLOW_INSECURE_DEV_ISSUER') && !e.ALLOW_INSECURE_DEV_ISSUER && issuer.protocol === 'http:' && isLoopback(issuer)) {
      problems.push(problem('ISSUER_BASE_URL', 'is an http:// loopback issuer, a development IdP; production needs https (set ALLOW_INSECURE_DEV_ISSUER=true only for a local test)'));
    }
    if (ok('SESSION_STORE') && e.SESSION_STORE === 'memory') problems.push(problem('SESSION_STORE', 'memory loses sessions on restart and is not shared between instances; use sqlite or redis in production'));
    // Short keys and placeholders are the package's problems (reported below with its message).
    for (const key of sessionKeys.filter((k) => Buffer.byteLength(k) >= 32)) {
      const weakness = weakSecret(key);
      if (weakness) problems.push(problem('SESSION_SECRET', weakness));
    }
  }
  if (ok('SESSION_STORE', 'REDIS_URL') && e.SESSION_STORE === 'redis' && !e.REDIS_URL) problems.push(problem('REDIS_URL', 'is required when SESSION_STORE=redis'));
  if (ok('SESSION_STORE', 'REDIS_CLUSTER_NODES') && e.SESSION_STORE === 'redis-cluster' && !e.REDIS_CLUSTER_NODES) problems.push(problem('REDIS_CLUSTER_NODES', 'is required when SESSION_STORE=redis-cluster'));
  // Metrics are for the operator's scraper, never on the port the public reaches.
  if (ok('METRICS_PORT', 'PORT') && e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) problems.push(problem('METRICS_PORT', 'must differ from PORT (metrics are never served on the app\'s port)'));
  // The BFF's own rules (issuer on loopback only over http, origin-only base URL, https in
  // production, secret strength, idle <= absolute) live in the package: ask it, name our settings.
  problems.push(...bffProblems({
    issuer: issuer?.href ?? 'https://issuer.invalid',
    baseUrl: baseUrl?.href ?? 'http://localhost',
    clientId: 'x',
    ...(keyJwt ? { clientAuthentication: 'private_key_jwt', ...(clientPrivateKey !== undefined ? { clientPrivateKey, ...(e.CLIENT_KEY_ID ? { clientKeyId: e.CLIENT_KEY_ID } : {}) } : {}) } : { clientSecret: 'x' }),
    secrets: sessionKeys.length > 0 ? sessionKeys : ['a placeholder that is long enough to pass'],
    ...(ok('SESSION_IDLE_TIMEOUT', 'SESSION_ABSOLUTE_TIMEOUT') ? { idleTimeout: e.SESSION_IDLE_TIMEOUT, absoluteTimeout: e.SESSION_ABSOLUTE_TIMEOUT } : {}),
  }, new Set(problems.map((p) => p.split(':')[0]!))));
  if (problems.length > 0 || !baseUrl || !issuer) throw new ConfigError(problems);

  const clientSecret = e.CLIENT_SECRET ?? (production ? undefined : DEV_CLIENT_SECRET);
  const insecureIssuer = issuer.protocol === 'http:';
  if (sessionKeys.length === 0) sessionKeys = [developmentSecret(e.DATA_DIR)];
  const isDevIdp = !production && issuer.protocol === 'http:' && isLoopback(issuer) && issuer.pathname === '/' && portOf(issuer) === devIdpPort(e);
  const defaultScope = e.RESPONSE_TYPE === 'code' ? 'openid profile email offline_access' : 'openid profile email';
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    baseUrl,
    redirectUri: new URL('/callback', baseUrl),
    issuer,
    insecureIssuer,
    clientId: e.CLIENT_ID,
    clientSecret: keyJwt ? '' : clientSecret ?? '',
    clientAuthMethod: e.CLIENT_AUTH_METHOD,
    clientPrivateKey,
    clientKeyId: e.CLIENT_KEY_ID,
    pushedAuthorizationRequests: e.PUSHED_AUTHORIZATION_REQUESTS,
    dpop: e.DPOP,
    stepUp: { acr: e.STEP_UP_ACR ?? (isDevIdp ? DEV_IDP_STEP_UP_ACR : undefined), maxAge: e.STEP_UP_MAX_AGE },
    responseType: e.RESPONSE_TYPE,
    scope: e.SCOPE ?? defaultScope,
    sessionKeys: Object.freeze(sessionKeys),
    sessionStore: e.SESSION_STORE,
    sqlitePath: e.SESSION_SQLITE_PATH ?? path.join(e.DATA_DIR, 'sessions.sqlite'),
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    redisWaitReplicas: e.REDIS_WAIT_REPLICAS ?? (e.SESSION_STORE === 'redis-cluster' ? 1 : 0),
    redisWaitTimeoutMs: e.REDIS_WAIT_TIMEOUT_MS,
    idleTimeout: e.SESSION_IDLE_TIMEOUT,
    absoluteTimeout: e.SESSION_ABSOLUTE_TIMEOUT,
    clockTolerance: e.CLOCK_TOLERANCE,
    refreshSkew: e.TOKEN_REFRESH_SKEW,
    idpTimeout: e.IDP_TIMEOUT,
    loginRateLimitPerIp: e.LOGIN_RATE_LIMIT_PER_IP,
    loginRateLimitPerInstance: e.LOGIN_RATE_LIMIT_PER_INSTANCE,
    remoteApiUrl: new URL(e.REMOTE_API_URL ?? `http://localhost:${devApiPort(e)}`),
    trustProxy: e.TRUST_PROXY,
    secureCookies: baseUrl.protocol === 'https:',
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    logFormat: e.LOG_FORMAT,
    dataDir: e.DATA_DIR,
    issuerIsDevIdp: isDevIdp,
    metricsPort: e.METRICS_PORT ?? (e.NODE_ENV === 'development' && e.PORT !== DEFAULT_METRICS_PORT ? DEFAULT_METRICS_PORT : undefined),
    metricsPortDefaulted: e.METRICS_PORT === undefined && e.NODE_ENV === 'development',
    metricsHost: e.METRICS_HOST ?? (production ? '0.0.0.0' : '127.0.0.1'),
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ? new URL(e.OTEL_EXPORTER_OTLP_ENDPOINT) : undefined,
    otlpTlsFiles: { traces: tlsFilesSet(env, 'TRACES_'), metrics: tlsFilesSet(env, 'METRICS_') },
  });
}

/** The port of an http(s) URL, its scheme's default included. */
const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' ? 443 : 80));

/**
 * True when one of the OTLP exporters' TLS file settings is set (not blank), in its general form or
 * for `signal`: `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]CERTIFICATE`, `_CLIENT_CERTIFICATE`,
 * `_CLIENT_KEY`. OpenTelemetry's own variables, which the SDK's exporter reads and checks itself;
 * read here only to choose that exporter, since the demo's `fetch` exporter cannot take them.
 */
const tlsFilesSet = (env: Record<string, string | undefined>, signal: 'TRACES_' | 'METRICS_') =>
  OTLP_TLS_FILES.some((file) => Boolean(env[`OTEL_EXPORTER_OTLP_${file}`]?.trim() || env[`OTEL_EXPORTER_OTLP_${signal}${file}`]?.trim()));
const OTLP_TLS_FILES = ['CERTIFICATE', 'CLIENT_CERTIFICATE', 'CLIENT_KEY'] as const;

/** The OpenTelemetry variables `loadConfig` reads besides the app's settings (the OTLP TLS files: see `otlpTlsFiles`). */
export const OTEL_VARIABLES_READ: readonly string[] = ['', 'TRACES_', 'METRICS_'].flatMap((signal) => OTLP_TLS_FILES.map((file) => `OTEL_EXPORTER_OTLP_${signal}${file}`));

/**
 * The port the bundled dev-idp serves, as it reads its settings: DEV_IDP_ISSUER's port, else
 * DEV_IDP_PORT, else 4000; undefined when they are invalid (the dev-idp itself reports that).
 */
function devIdpPort(e: Pick<Env, 'DEV_IDP_PORT' | 'DEV_IDP_ISSUER'>): number | undefined {
  if (e.DEV_IDP_ISSUER) {
    const issuer = URL.parse(e.DEV_IDP_ISSUER);
    return issuer ? portOf(issuer) : undefined;
  }
  if (e.DEV_IDP_PORT === undefined) return 4000;
  const port = Number(e.DEV_IDP_PORT);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/** The dev-idp's issuer as it computes it: DEV_IDP_ISSUER, else http://localhost:DEV_IDP_PORT (4000). */
function devIdpIssuer(e: Pick<Env, 'DEV_IDP_PORT' | 'DEV_IDP_ISSUER'>): string {
  if (e.DEV_IDP_ISSUER && URL.canParse(e.DEV_IDP_ISSUER)) return e.DEV_IDP_ISSUER;
  return `http://localhost:${devIdpPort(e) ?? 4000}`;
}

/** The dev API's port: DEV_API_PORT when it is a port, else 4100. */
function devApiPort(e: Pick<Env, 'DEV_API_PORT'>): number {
  const port = Number(e.DEV_API_PORT);
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : 4100;
}

/** Package option → the setting it comes from. */
const OPTION_SETTINGS: Readonly<Record<string, SettingName>> = {
  issuer: 'ISSUER_BASE_URL', baseUrl: 'BASE_URL', clientId: 'CLIENT_ID', clientSecret: 'CLIENT_SECRET', secrets: 'SESSION_SECRET',
  clientAuthentication: 'CLIENT_AUTH_METHOD', clientPrivateKey: 'CLIENT_PRIVATE_KEY', clientKeyId: 'CLIENT_KEY_ID',
  responseType: 'RESPONSE_TYPE', scope: 'SCOPE', clockTolerance: 'CLOCK_TOLERANCE', idpTimeout: 'IDP_TIMEOUT',
  refreshSkew: 'TOKEN_REFRESH_SKEW', idleTimeout: 'SESSION_IDLE_TIMEOUT', absoluteTimeout: 'SESSION_ABSOLUTE_TIMEOUT',
};

/** The package's problems with `options`, as lines naming settings; settings already reported are skipped. */
function bffProblems(options: Record<string, unknown>, reported: Set<string>): string[] {
  const result = checkOptions(options);
  if (result.ok) return [];
  const lines: string[] = [];
  for (const { option, message } of result.problems) {
    // The store follows SESSION_STORE; its choice is checked above.
    const setting = OPTION_SETTINGS[option.split('.')[0]!];
    if (!setting || reported.has(setting)) continue;
    // Name settings, not options, in the message too ("must not exceed absoluteTimeout").
    const text = message.replace(/\b[a-z][A-Za-z]+\b/g, (word) => OPTION_SETTINGS[word] ?? word);
    lines.push(problem(setting, text));
  }
  return [...new Set(lines)];
}

/**
 * The package options this configuration stands for (everything but the store, the logger and
 * the render hooks, which the app adds).
 */
export function bffOptions(config: Config): Omit<BffOptions, 'store' | 'logger' | 'render'> {
  return {
    issuer: config.issuer,
    baseUrl: config.baseUrl,
    clientId: config.clientId,
    ...(config.clientAuthMethod === 'private_key_jwt'
      ? { clientAuthentication: 'private_key_jwt', clientPrivateKey: config.clientPrivateKey, ...(config.clientKeyId ? { clientKeyId: config.clientKeyId } : {}) }
      : { clientAuthentication: config.clientAuthMethod, clientSecret: config.clientSecret }),
    pushedAuthorizationRequests: config.pushedAuthorizationRequests,
    dpop: config.dpop,
    secrets: config.sessionKeys,
    responseType: config.responseType,
    scope: config.scope,
    clockTolerance: config.clockTolerance,
    idpTimeout: config.idpTimeout,
    refreshSkew: config.refreshSkew,
    idleTimeout: config.idleTimeout,
    absoluteTimeout: config.absoluteTimeout,
    loginRateLimit: { perIpPerMinute: config.loginRateLimitPerIp, perInstancePerSecond: config.loginRateLimitPerInstance },
  };
}

/** Fewest distinct characters a production session key may have (32 random base64 characters hold about 25). */
const MIN_DISTINCT_CHARACTERS = 12;

/**
 * Why `key` is too regular to be a secret (a short unit repeated, or few distinct characters),
 * or undefined. Length and placeholders are the package's checks.
 */
function weakSecret(key: string): string | undefined {
  for (let unit = 1; unit <= key.length / 2; unit++) {
    if (key.length % unit === 0 && key.slice(0, unit).repeat(key.length / unit) === key) return 'is a repetition of a short sequence, not a random secret (generate one: openssl rand -base64 48)';
  }
  const distinct = new Set(key).size;
  if (distinct < MIN_DISTINCT_CHARACTERS) return `has only ${distinct} distinct characters, too few for a random secret (generate one: openssl rand -base64 48)`;
  return undefined;
}

/** Reads (or creates once, mode 0600) the development session secret under `dataDir`. */
function developmentSecret(dataDir: string): string {
  const file = path.join(dataDir, 'session-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/**
 * The environment as the app sees it: `.env` (if present, parsed without touching `process.env`)
 * overridden by the real environment.
 */
export async function readEnvironment(envFile = '.env'): Promise<Record<string, string | undefined>> {
  const { parse } = await import('dotenv');
  const fromFile = existsSync(envFile) ? parse(readFileSync(envFile)) : {};
  return { ...fromFile, ...process.env };
}
