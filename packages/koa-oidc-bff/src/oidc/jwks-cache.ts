/**
 * The IdP's signing keys (JWKS) as last downloaded, shared by the short-lived openid-client
 * Configurations that validate callbacks, with a refetch when an ID token names an unknown `kid`
 * (OIDC Core 10.1.1: a signing key rotation publishes a new key in the JWKS).
 *
 * Why not openid-client's own cache: oauth4webapi caches the JWKS per Configuration and refetches
 * on an unknown `kid` only once its copy is at least 60 seconds old, so a login right after a key
 * rotation failed. Each callback gets a fresh Configuration seeded from this cache; when the ID
 * token's `kid` is not in it, the seed is withheld so the library downloads the JWKS again. At
 * most one such forced refetch per cooldown: in the id_token flow the `kid` comes from the
 * browser, and attacker-chosen kids must not turn every callback into a request to the IdP.
 */
import * as client from 'openid-client';
import { decodeProtectedHeader } from 'jose';

/** Milliseconds between two forced refetches (a `kid` miss). Expiry-driven refreshes are not limited. */
export const FORCED_REFETCH_COOLDOWN_MS = 30_000;

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

/** One per app: the last JWKS seen, and when a `kid` miss last forced a download. */
export class JwksCache {
  #current: client.ExportedJWKSCache | undefined;
  #lastForcedRefetch = -Infinity;

  /** @param clock ms since the epoch; the real clock by default (oauth4webapi ages its cache by it too). */
  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Seeds `config` with the cached JWKS, unless `kid` (of the ID token about to be verified, when
   * already known) is missing from it and a forced refetch is allowed.
   */
  seed(config: client.Configuration, kid?: string): void {
    if (this.#current && !this.#mustRefetch(kid)) client.setJwksCache(config, this.#current);
  }

  /**
   * A fetch for `config` (set as `config[client.customFetch]`): keeps every JWKS it downloads
   * and, when a token response carries an ID token whose `kid` is unknown, withdraws the seed
   * before openid-client verifies the signature (code flow: the kid is known only then).
   * @param inner the fetch that does the request (the telemetry wrapper when an SDK listens).
   */
  fetchFor(
    config: client.Configuration,
    endpoints: { jwksUri: string | undefined; tokenEndpoint: string | undefined },
    inner: client.CustomFetch = (url, init) => fetch(url, init as RequestInit),
  ): client.CustomFetch {
    return async (url, init) => {
      const response = await inner(url, init);
      if (!response.ok) return response;
      if (url === endpoints.jwksUri) {
        const jwks = (await response.clone().json().catch(() => undefined)) as client.JWKS | undefined;
        if (Array.isArray(jwks?.keys)) this.#current = { jwks, uat: Math.floor(this.clock() / 1000) };
      } else if (url === endpoints.tokenEndpoint) {
        const body = (await response.clone().json().catch(() => undefined)) as { id_token?: unknown } | undefined;
        const seeded = client.getJwksCache(config);
        if (seeded && this.#mustRefetch(jwsKid(body?.id_token))) {
          // getJwksCache returns the Configuration's own cache object: emptied, it is not "fresh" and the library fetches.
          delete (seeded as Partial<client.ExportedJWKSCache>).jwks;
          delete (seeded as Partial<client.ExportedJWKSCache>).uat;
        }
      }
      return response;
    };
  }

  #mustRefetch(kid: string | undefined): boolean {
    if (!this.#current || kid === undefined) return false;
    if (this.#current.jwks.keys.some((key) => key.kid === kid)) return false;
    const now = this.clock();
    if (now - this.#lastForcedRefetch < FORCED_REFETCH_COOLDOWN_MS) return false;
    this.#lastForcedRefetch = now;
    return true;
  }
}
