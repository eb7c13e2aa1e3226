/**
 * The IdP's signing keys (JWKS, RFC 7517), one copy per BFF, shared by the two places that verify
 * the IdP's signatures: ID tokens at the callback (through openid-client) and Logout Tokens at
 * back-channel logout (through jose). One set of rules for both (OIDC Core 10.1.1: a rotation
 * publishes the new key in the JWKS before using it):
 * - the key set is at most {@link JWKS_MAX_AGE_MS} old when a signature is checked: older, it is
 *   downloaded again first, so a key the IdP removed stops being accepted within 5 minutes;
 * - a token naming a `kid` the set does not hold triggers a download, unless one happened in the
 *   last {@link KID_MISS_MIN_INTERVAL_MS} (then the `kid` is genuinely unknown); such downloads
 *   are bounded per issuer to {@link KID_MISS_PER_MINUTE} a minute by rate-limiter-flexible, so
 *   attacker-chosen kids (a `kid` spray) cannot hammer the IdP;
 * - when the key set cannot be downloaded (IdP unreachable, refetch budget spent) the token is
 *   not judged: {@link JwksUnavailableError}, answered 503 (the IdP may retry a Logout Token).
 * The bounds are per BFF instance: N instances fetch at most N times as often.
 *
 * Why not openid-client's or jose's own caches: oauth4webapi refetches on an unknown `kid` only
 * once its copy is 60 s old, jose's remote set only after a 30 s cooldown, and neither bounds
 * the refetches per minute nor says "unreachable" apart from "unknown key".
 */
import * as client from 'openid-client';
import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** Milliseconds a downloaded key set is used before it is downloaded again (5 minutes). */
export const JWKS_MAX_AGE_MS = 5 * 60_000;
/** Milliseconds after any download during which an unknown `kid` does not trigger another one. */
export const KID_MISS_MIN_INTERVAL_MS = 5_000;
/** Downloads an unknown `kid` may trigger per minute and issuer. */
export const KID_MISS_PER_MINUTE = 12;

/** `kid` of a compact JWS, or undefined when absent or unreadable. Never verifies anything. */
export function jwsKid(jws: unknown): string | undefined {
  if (typeof jws !== 'string') return undefined;
  try {
    const { kid } = decodeProtectedHeader(jws);
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** The IdP's key set could not be obtained: the token could not be checked (not: it is invalid). */
export class JwksUnavailableError extends Error {
  /**
   * @param reason `unreachable` (download failed, timed out, or not a JWKS) or `refetch_limited`
   *   (an unknown `kid` and the per-minute budget of downloads is spent).
   * @param retryAfter seconds after which trying again may succeed.
   */
  constructor(readonly reason: 'unreachable' | 'refetch_limited', readonly retryAfter: number, options?: ErrorOptions) {
    super(reason === 'unreachable' ? 'the issuer keys could not be fetched' : 'the issuer keys were fetched too often to fetch them again now', options);
    this.name = 'JwksUnavailableError';
  }
}

export interface JwksCacheOptions {
  /** Clock in ms since the epoch (the BFF's `now`): ages the key set. */
  clock: () => number;
  /** Milliseconds before a download is abandoned (`idpTimeout`). */
  timeoutMs: number;
  /** Allow an http:// `jwks_uri` (loopback development issuer). */
  allowHttp: boolean;
  /** The fetch that downloads the JWKS (the telemetry wrapper when an SDK listens). Default: the global fetch. */
  fetch?: client.CustomFetch;
  /** Told of each download (why, how many keys) and each failed one; for the log. */
  onFetch?: (info: { reason: 'initial' | 'expired' | 'unknown_kid'; keys: number } | { reason: 'failed'; cause: string }) => void;
}

/** One per BFF: the last key set downloaded, when, and the bound on `kid`-driven downloads. */
export class JwksCache {
  #current: { jwks: JSONWebKeySet; fetchedAt: number } | undefined;
  #lastFetchAt = -Infinity;
  #inflight: Promise<JSONWebKeySet> | undefined;
  readonly #limiter = new RateLimiterMemory({ points: KID_MISS_PER_MINUTE, duration: 60, keyPrefix: 'bff-jwks-refetch' });
  /** Per Configuration: the key-set failure met while its token response was being read. */
  readonly #failures = new WeakMap<client.Configuration, JwksUnavailableError>();

  constructor(private readonly options: JwksCacheOptions) {}

  /**
   * The key set to verify a token signed with `kid` against, downloaded first when it is missing,
   * older than {@link JWKS_MAX_AGE_MS}, or lacks `kid` (within the bounds above).
   * @throws {JwksUnavailableError} when the set is needed but cannot be downloaded.
   */
  async keysFor(jwksUri: string, kid: string | undefined): Promise<JSONWebKeySet> {
    const now = this.options.clock();
    const current = this.#current;
    if (!current) return this.#single(() => this.#fetch(jwksUri, 'initial'));
    if (now - current.fetchedAt >= JWKS_MAX_AGE_MS) return this.#single(() => this.#fetch(jwksUri, 'expired'));
    if (kid === undefined || current.jwks.keys.some((key) => key.kid === kid)) return current.jwks;
    if (this.#inflight) return this.#inflight;
    // Downloaded a moment ago: the IdP does not publish this kid.
    if (now - this.#lastFetchAt < KID_MISS_MIN_INTERVAL_MS) return current.jwks;
    // Concurrent misses share one download (and spend one unit of the budget).
    return this.#single(async () => {
      try {
        await this.#limiter.consume(jwksUri);
      } catch (err) {
        if (err instanceof RateLimiterRes) throw new JwksUnavailableError('refetch_limited', Math.ceil(err.msBeforeNext / 1000));
        throw err;
      }
      return this.#fetch(jwksUri, 'unknown_kid');
    });
  }

  /**
   * Seeds `config` (a fresh per-callback Configuration) with the key set for an ID token signed
   * with `kid` (when already known: the id_token response type), and routes its JWKS and token
   * endpoint requests through this cache: when the token response's ID token names a `kid` the
   * seed lacks, the cache is consulted (and refreshed) before openid-client verifies the signature.
   * openid-client never downloads the JWKS itself: the seed is always "fresh" to it.
   * @param inner the fetch for the configuration's other requests (the telemetry wrapper when an SDK listens).
   * @throws {JwksUnavailableError} like {@link keysFor}.
   */
  async prepare(
    config: client.Configuration,
    endpoints: { jwksUri: string | undefined; tokenEndpoint: string | undefined },
    kid?: string,
    inner: client.CustomFetch = (url, init) => fetch(url, init as RequestInit),
  ): Promise<void> {
    const { jwksUri, tokenEndpoint } = endpoints;
    if (!jwksUri) return;
    const seed = (jwks: JSONWebKeySet) => client.setJwksCache(config, { jwks: structuredClone(jwks) as client.JWKS, uat: Math.floor(Date.now() / 1000) });
    // The code flow learns the kid only from the token response: nothing is downloaded before the
    // code is redeemed (an unreachable IdP then fails at its token endpoint, 502, as it should).
    // An empty seed is still "fresh" to openid-client, so it never downloads the JWKS itself.
    const fresh = this.#current && this.options.clock() - this.#current.fetchedAt < JWKS_MAX_AGE_MS ? this.#current.jwks : undefined;
    seed(kid === undefined ? (fresh ?? { keys: [] }) : await this.keysFor(jwksUri, kid));
    config[client.customFetch] = async (url, init) => {
      if (url === jwksUri) return Response.json(await this.keysFor(jwksUri, undefined));
      const response = await inner(url, init);
      if (url !== tokenEndpoint || !response.ok) return response;
      const body = (await response.clone().json().catch(() => undefined)) as { id_token?: unknown } | undefined;
      if (typeof body?.id_token !== 'string') return response;
      const tokenKid = jwsKid(body.id_token);
      const seeded = client.getJwksCache(config);
      const keys = seeded?.jwks.keys ?? [];
      if (keys.length > 0 && (tokenKid === undefined || keys.some((key) => key.kid === tokenKid))) return response;
      try {
        const jwks = await this.keysFor(jwksUri, tokenKid);
        // getJwksCache returns the Configuration's own cache object, which the verification reads.
        if (seeded) Object.assign(seeded, { jwks: structuredClone(jwks), uat: Math.floor(Date.now() / 1000) });
      } catch (err) {
        if (!(err instanceof JwksUnavailableError)) throw err;
        this.#failures.set(config, err);
      }
      return response;
    };
  }

  /** The key-set failure met during `config`'s token response, if any (the ID token could not be checked). */
  failureOf(config: client.Configuration): JwksUnavailableError | undefined {
    return this.#failures.get(config);
  }

  /** Runs `download` unless one is under way, whose result is shared instead. */
  #single(download: () => Promise<JSONWebKeySet>): Promise<JSONWebKeySet> {
    this.#inflight ??= download().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(jwksUri: string, reason: 'initial' | 'expired' | 'unknown_kid'): Promise<JSONWebKeySet> {
    this.#lastFetchAt = this.options.clock();
    let jwks: JSONWebKeySet;
    try {
      const url = new URL(jwksUri);
      if (url.protocol !== 'https:' && !this.options.allowHttp) throw new Error('jwks_uri is not https');
      const init = { method: 'GET', headers: { accept: 'application/json, application/jwk-set+json' }, redirect: 'error', signal: AbortSignal.timeout(this.options.timeoutMs) } as const;
      const response = await (this.options.fetch ? this.options.fetch(url.href, init as unknown as client.CustomFetchOptions) : fetch(url, init));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = (await response.json()) as { keys?: unknown };
      if (!Array.isArray(body?.keys) || !body.keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) throw new Error('not a JWKS');
      jwks = { keys: body.keys as JSONWebKeySet['keys'] };
    } catch (err) {
      this.options.onFetch?.({ reason: 'failed', cause: causeOf(err) });
      throw new JwksUnavailableError('unreachable', 5, { cause: err });
    }
    this.#current = { jwks, fetchedAt: this.options.clock() };
    this.options.onFetch?.({ reason, keys: jwks.keys.length });
    return jwks;
  }
}

function causeOf(err: unknown): string {
  const e = err as { name?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return `${String(e?.name ?? 'Error')}: ${String(e?.message ?? '')}`.slice(0, 120);
}
