/**
 * The options of {@link createBff}: one zod schema with the defaults and the security rules,
 * validated inside the package. Every problem is reported at once, each naming its option.
 */
import type Koa from 'koa';
import { z } from 'zod';
import { isLoopback } from './http/loopback.ts';
import type { BffLogger } from './log.ts';
import type { SessionStore } from './session/store.ts';
import { readClientKey, type ClientKey } from './oidc/client-key.ts';

/** Values that look like secrets but are well known; never accepted in `secrets`. */
const PLACEHOLDER_SECRETS = new Set(['keyboard cat', 'changeme', 'change-me', 'secret', 'password', 'some secret hurr', 'your-secret-here']);

/**
 * The part of a Redis client the login rate limit needs: an ioredis `Redis` (or `Cluster`) fits.
 * Declared here so that the package's types do not need ioredis installed.
 */
export interface RedisClientLike {
  evalsha(...args: never[]): unknown;
}

/** What the error render hook receives: only what may be shown to the user. */
export interface ErrorView {
  /** HTTP status of the answer. */
  status: number;
  /** Stable code such as `ERR_LOGIN_STATE_UNKNOWN` (see the package README's failure table). */
  code: string;
  /** A message written for the user (never a stack trace or private detail). */
  message: string;
  /** The request id (`ctx.state.requestId`), when the host sets one. */
  requestId: string | undefined;
  /** For a failed login: a heading for the page. */
  heading: string | undefined;
  /** For a failed login: where "Try again" leads (`/login?returnTo=...`). */
  retryUrl: string | undefined;
}

/** Hooks through which the host renders the package's answers in its own look. Each returns HTML. */
export interface RenderHooks {
  /**
   * The fragment answered (status 401) to an htmx request of a visitor who never logged in.
   * Default: a short paragraph with a "Log in" link.
   */
  notLoggedIn?: (ctx: Koa.Context, data: { loginUrl: string }) => string;
  /**
   * An error answer: `as` is `'page'` for a navigation and `'fragment'` for an htmx request
   * (JSON clients always get `{"error", "message", "requestId"}`). Default: minimal HTML.
   */
  error?: (ctx: Koa.Context, view: ErrorView, as: 'page' | 'fragment') => string;
}

const path = z.string().regex(/^\/[^\s?#]*$/, 'must be a path starting with / (no query or fragment)');
const seconds = (min: number, max: number) => z.number().int('must be a whole number of seconds').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const url = z.union([z.instanceof(URL), z.string()]).transform((v, ctx) => {
  const parsed = v instanceof URL ? v : URL.parse(v);
  if (!parsed || !/^https?:$/.test(parsed.protocol)) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
    return z.NEVER;
  }
  return new URL(parsed.href);
});
const cookieName = z.string().regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, 'must be a cookie name (RFC 6265 token)');

/** The option schema; its inferred input type is {@link BffOptions}. */
const Schema = z.object({
  /** OpenID Provider issuer URL; endpoints come from its discovery document. `http://` only on a loopback host. */
  issuer: url,
  /** The client id registered at the IdP. */
  clientId: z.string().min(1, 'must not be empty'),
  /** The client secret (`client_secret_basic` or `client_secret_post`). Not used with `private_key_jwt`. Never logged. */
  clientSecret: z.string().min(1, 'must not be empty').optional(),
  /**
   * How the client authenticates at the token and revocation endpoints (OIDC Core 9):
   * `client_secret_basic` (default), `client_secret_post`, or `private_key_jwt` (RFC 7523 2.2,
   * a JWT signed with `clientPrivateKey`; register the public key served at `routes.jwks`).
   */
  clientAuthentication: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
  /**
   * For `private_key_jwt`: the private key, as a PKCS#8 PEM string, a JWK (object or JSON
   * string); RSA (RS256), EC P-256/P-384 (ES256/ES384) or Ed25519 (EdDSA). Never logged.
   */
  clientPrivateKey: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  /** For `private_key_jwt`: the `kid` of the key. Default: the JWK's own `kid`, else its RFC 7638 thumbprint. */
  clientKeyId: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  /**
   * Pushed authorization requests (RFC 9126): `auto` (default) pushes when discovery advertises
   * `pushed_authorization_request_endpoint`; `always` requires it (`whenReady()` rejects without it);
   * `never` sends the parameters in the browser's redirect.
   */
  pushedAuthorizationRequests: z.enum(['auto', 'always', 'never']).default('auto'),
  /**
   * DPoP (RFC 9449): one key pair per session, kept with its tokens on the server; access and
   * refresh tokens are bound to it and `callApi` sends `Authorization: DPoP` with a fresh proof.
   * `whenReady()` rejects when the IdP does not advertise `dpop_signing_alg_values_supported`. Default false.
   */
  dpop: z.boolean().default(false),
  /** The app's public origin, e.g. `https://app.example.com`; redirect URIs are built from it (never from the Host header). https makes cookies `Secure` and `__Host-` prefixed. */
  baseUrl: url,
  /** Secrets (each at least 32 bytes) signing the session cookie and encrypting login transactions; the first signs, all verify (rotation). */
  secrets: z.union([z.string(), z.array(z.string()).readonly()]).transform((v) => (typeof v === 'string' ? [v] : [...v])),
  /** Where sessions live (`koa-oidc-bff/stores/sqlite`, `/redis`, `/memory`, or your own). Default: an in-memory store, allowed only for a loopback `baseUrl`. */
  store: z.custom<SessionStore>((v) => typeof v === 'object' && v !== null && typeof (v as SessionStore).get === 'function' && typeof (v as SessionStore).create === 'function', 'must implement SessionStore').optional(),
  /** `code` (authorization code with PKCE S256, default) or `id_token`; both with `response_mode=form_post`. */
  responseType: z.enum(['code', 'id_token']).default('code'),
  /** Space-separated scopes. Default `openid profile email offline_access` for `code`, `openid profile email` for `id_token`. */
  scope: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'must be space-separated scope tokens').refine((s) => s.split(' ').includes('openid'), 'must include openid').optional(),
  /** Seconds of clock difference accepted with the IdP. Default 30. */
  clockTolerance: seconds(0, 600).default(30),
  /** Seconds before any call to the IdP is abandoned. Default 5. */
  idpTimeout: seconds(1, 120).default(5),
  /** Seconds: the access token is refreshed when it expires within this many seconds. Default 60. */
  refreshSkew: seconds(0, 3600).default(60),
  /** Seconds before a `callApi` request is abandoned. Default: `idpTimeout`. */
  upstreamTimeout: seconds(1, 600).optional(),
  /** Seconds without activity before a session ends. Default 28800 (8 hours). */
  idleTimeout: seconds(10, 10 * 365 * 24 * 3600).default(8 * 3600),
  /** Seconds after login before a session ends whatever the activity. Default 604800 (7 days). */
  absoluteTimeout: seconds(10, 10 * 365 * 24 * 3600).default(7 * 24 * 3600),
  /** Paths of the package's routes. */
  routes: z.object({
    /** `GET`: starts a login; `?returnTo=<same-origin path>`. Default `/login`. */
    login: path.default('/login'),
    /** `POST`: the IdP's form_post (registered as redirect URI `baseUrl + callback`). Default `/callback`. */
    callback: path.default('/callback'),
    /** `POST`: logout form (same-origin, CSRF token), then RP-initiated logout at the IdP. Default `/logout`. */
    logout: path.default('/logout'),
    /** `GET`: the user and session expiry as JSON (needs the API header). Default `/api/session`. */
    session: path.default('/api/session'),
    /** `POST`: OIDC Back-Channel Logout endpoint. Default `/backchannel-logout`. */
    backchannelLogout: path.default('/backchannel-logout'),
    /** Where the browser lands after logout (registered as post-logout redirect URI `baseUrl + postLogout`). Default `/`. */
    postLogout: path.default('/'),
    /** `GET`: the client's public JWKS, with `clientAuthentication: 'private_key_jwt'` only (register it, or its URL, at the IdP). Default `/.well-known/jwks.json`. */
    jwks: path.default('/.well-known/jwks.json'),
  }).prefault({}),
  /** Path prefixes whose requests must carry `HX-Request: true` or `X-CSRF: 1` (403 otherwise). Default `['/api/']`. */
  apiPrefixes: z.array(path).readonly().default(['/api/']),
  /**
   * Cookie names. On an https `baseUrl` the session cookie gets the `__Host-Http-` prefix (a browser
   * that knows it lets only an HTTP response set it: Secure, HttpOnly, Path=/, no Domain) and the
   * transaction cookies the `__Host-` prefix.
   */
  cookies: z.object({
    /** Session id cookie (its signature goes in `<name>.sig`). Default `bff.sid`; `__Host-Http-bff.sid` over https (`__Host-bff.sid` before, still read once and moved). */
    session: cookieName.default('bff.sid'),
    /** Prefix of the per-login transaction cookies (`<prefix><state>`). Default `bff.tx.`. */
    transactionPrefix: cookieName.default('bff.tx.'),
  }).prefault({}),
  /** Logger with `debug/info/warn/error(fields, message)` (pino fits). Default: silent. */
  logger: z.custom<BffLogger>((v) => typeof v === 'object' && v !== null && ['debug', 'info', 'warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'), 'must have debug, info, warn and error methods').optional(),
  /** Render hooks (see {@link RenderHooks}). */
  render: z.custom<RenderHooks>((v) => typeof v === 'object' && v !== null, 'must be an object of render functions').optional(),
  /**
   * Bounds on starting logins (`GET /login`, rate-limiter-flexible). Beyond either, the login is
   * refused with `429` and `Retry-After` (a page, an htmx fragment or JSON).
   */
  loginRateLimit: z.object({
    /** Logins one client IP (`ctx.ip`: set `app.proxy` behind a proxy) may start per minute. Default 60 (an office behind one NAT address). */
    perIpPerMinute: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(60),
    /** Logins one instance may start per second, all clients together. Default 100. */
    perInstancePerSecond: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(100),
    /**
     * An ioredis client for the per-IP limit, shared by all instances. Default: the store's own
     * connection when the store is the Redis store (`koa-oidc-bff/stores/redis`); otherwise the
     * limit is counted in memory, per instance.
     */
    redis: z.custom<RedisClientLike>((v) => typeof v === 'object' && v !== null && typeof (v as { evalsha?: unknown }).evalsha === 'function', 'must be an ioredis client').optional(),
  }).prefault({}),
  /** Clock in milliseconds since the epoch, for tests. Default `Date.now`. */
  now: z.custom<() => number>((v) => typeof v === 'function', 'must be a function').optional(),
});

/** What {@link createBff} accepts. Required: issuer, clientId, clientSecret, baseUrl, secrets (and a store unless baseUrl is loopback). */
export type BffOptions = z.input<typeof Schema>;

/** Options after validation, with every default filled in. */
export interface ResolvedOptions extends Omit<z.output<typeof Schema>, 'scope' | 'store' | 'upstreamTimeout' | 'now' | 'clientPrivateKey' | 'cookies'> {
  /** The `private_key_jwt` key, checked; undefined for the secret methods. */
  clientKey: ClientKey | undefined;
  cookies: {
    /** The session cookie's name as written. */
    session: string;
    /** Its former name, read once for the migration to `session` (https only). */
    legacySession: string | undefined;
    transactionPrefix: string;
  };
  scope: string;
  store: SessionStore | undefined;
  upstreamTimeout: number;
  now: () => number;
  /** True for an https baseUrl: Secure, `__Host-Http-` / `__Host-` cookies. */
  https: boolean;
  /** True for an http:// issuer (allowed on loopback only). */
  insecureIssuer: boolean;
}

/** Thrown by {@link createBff} for invalid options, listing every problem (`option: what is wrong`). */
export class BffOptionsError extends TypeError {
  constructor(readonly problems: readonly { option: string; message: string }[]) {
    super(`Invalid koa-oidc-bff options:\n${problems.map((p) => `  - ${p.option}: ${p.message}`).join('\n')}`);
    this.name = 'BffOptionsError';
  }
}

/**
 * Validates `input`, fills in defaults and applies the cross-option security rules.
 * @returns the resolved options, or a list of problems (`option` is a dotted path such as `routes.login`).
 */
export function checkOptions(input: unknown): { ok: true; options: ResolvedOptions } | { ok: false; problems: { option: string; message: string }[] } {
  const parsed = Schema.safeParse(input);
  const problems: { option: string; message: string }[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined;
      problems.push({ option: issue.path.join('.') || '(options)', message: missing ? 'is required' : issue.message });
    }
  }
  const o = parsed.success ? parsed.data : undefined;
  // Cross-option rules run on what could be read, even when another option is invalid.
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const issuer = safeUrl(raw.issuer);
  const baseUrl = safeUrl(raw.baseUrl);
  if (issuer && issuer.protocol === 'http:' && !isLoopback(issuer)) problems.push({ option: 'issuer', message: 'http:// is accepted only on a loopback host (localhost, 127.0.0.1, ::1); use https' });
  if (baseUrl && (baseUrl.pathname !== '/' || baseUrl.search || baseUrl.hash)) problems.push({ option: 'baseUrl', message: 'must be an origin without path, query or fragment' });
  if (baseUrl && baseUrl.protocol === 'http:' && !isLoopback(baseUrl)) problems.push({ option: 'baseUrl', message: 'must be https:// in production (http:// is accepted only on a loopback host)' });
  const secrets = typeof raw.secrets === 'string' ? [raw.secrets] : Array.isArray(raw.secrets) ? raw.secrets : [];
  if (raw.secrets !== undefined && secrets.length === 0) problems.push({ option: 'secrets', message: 'must hold at least one secret' });
  for (const s of secrets) {
    if (typeof s !== 'string') problems.push({ option: 'secrets', message: 'each secret must be a string' });
    else if (PLACEHOLDER_SECRETS.has(s.trim().toLowerCase())) problems.push({ option: 'secrets', message: 'is a well-known placeholder, not a secret' });
    else if (Buffer.byteLength(s) < 32) problems.push({ option: 'secrets', message: 'each key must be at least 32 bytes' });
  }
  const authMethod = Schema.shape.clientAuthentication.safeParse(raw.clientAuthentication);
  let clientKey: ClientKey | undefined;
  if (authMethod.success && authMethod.data === 'private_key_jwt') {
    if (raw.clientSecret !== undefined) problems.push({ option: 'clientSecret', message: "must be absent with clientAuthentication 'private_key_jwt'" });
    if (raw.clientPrivateKey === undefined) problems.push({ option: 'clientPrivateKey', message: "is required with clientAuthentication 'private_key_jwt'" });
    else {
      // The message never quotes the key.
      const read = readClientKey(raw.clientPrivateKey, typeof raw.clientKeyId === 'string' ? raw.clientKeyId : undefined);
      if (read.ok) clientKey = read.key;
      else problems.push({ option: 'clientPrivateKey', message: read.message });
    }
  } else if (authMethod.success) {
    if (raw.clientSecret === undefined) problems.push({ option: 'clientSecret', message: 'is required' });
    if (raw.clientPrivateKey !== undefined) problems.push({ option: 'clientPrivateKey', message: "is used only with clientAuthentication 'private_key_jwt'" });
  }
  if (raw.store === undefined && baseUrl && !isLoopback(baseUrl)) problems.push({ option: 'store', message: 'is required unless baseUrl is a loopback origin (the default in-memory store loses sessions on restart and is not shared between instances)' });
  // Cross-option rules read the options that are valid on their own (each with its default).
  const idle = Schema.shape.idleTimeout.safeParse(raw.idleTimeout);
  const absolute = Schema.shape.absoluteTimeout.safeParse(raw.absoluteTimeout);
  if (idle.success && absolute.success && idle.data > absolute.data) problems.push({ option: 'idleTimeout', message: 'must not exceed absoluteTimeout' });
  const routes = Schema.shape.routes.safeParse(raw.routes);
  const prefixes = Schema.shape.apiPrefixes.safeParse(raw.apiPrefixes);
  if (routes.success) {
    const seen = new Map<string, string>();
    for (const [name, p] of Object.entries(routes.data)) {
      if (name === 'postLogout' || (name === 'jwks' && clientKey === undefined)) continue;
      if (seen.has(p)) problems.push({ option: `routes.${name}`, message: `is the same path as routes.${seen.get(p)}` });
      seen.set(p, name);
    }
    // The IdP's form_post and back-channel calls carry no htmx or X-CSRF header.
    for (const name of ['callback', 'backchannelLogout', ...(clientKey ? ['jwks'] as const : [])] as const) {
      if (prefixes.success && prefixes.data.some((prefix) => routes.data[name].startsWith(prefix))) problems.push({ option: `routes.${name}`, message: 'must not be under one of apiPrefixes (the IdP cannot send the API header)' });
    }
  }
  if (problems.length > 0 || !o) return { ok: false, problems: dedupe(problems) };
  const https = o.baseUrl.protocol === 'https:';
  const { clientPrivateKey: _key, ...rest } = o;
  return {
    ok: true,
    options: {
      ...rest,
      clientKey,
      scope: o.scope ?? (o.responseType === 'code' ? 'openid profile email offline_access' : 'openid profile email'),
      store: o.store,
      upstreamTimeout: o.upstreamTimeout ?? o.idpTimeout,
      now: o.now ?? Date.now,
      https,
      insecureIssuer: o.issuer.protocol === 'http:',
      cookies: {
        session: https ? `__Host-Http-${o.cookies.session}` : o.cookies.session,
        legacySession: https ? `__Host-${o.cookies.session}` : undefined,
        transactionPrefix: https ? `__Host-${o.cookies.transactionPrefix}` : o.cookies.transactionPrefix,
      },
    },
  };
}

/**
 * Validates `input` like {@link checkOptions} and returns the resolved options.
 * @throws {BffOptionsError} listing every problem at once.
 */
export function resolveOptions(input: BffOptions): ResolvedOptions {
  const result = checkOptions(input);
  if (!result.ok) throw new BffOptionsError(result.problems);
  return result.options;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

function safeUrl(v: unknown): URL | undefined {
  if (v instanceof URL) return v;
  return typeof v === 'string' ? (URL.parse(v) ?? undefined) : undefined;
}

function dedupe<T extends { option: string; message: string }>(list: T[]): T[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const key = `${p.option}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
