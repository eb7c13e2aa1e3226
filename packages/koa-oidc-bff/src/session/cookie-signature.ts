/**
 * Session cookie signatures, compatible with the `cookies`/keygrip format Koa uses for signed
 * cookies: a companion cookie `<name>.sig` holding HMAC-SHA1(key, `<name>=<value>`) in base64url.
 * Computed with `node:crypto` (keys held as `KeyObject`s created once) and compared with
 * `timingSafeEqual`: one HMAC per key tried, where keygrip's compare adds two more HMACs and
 * random bytes per request. The first key signs, every key verifies (rotation).
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Verified cookies remembered (most recent first out); a browser sends the same cookie with every request. */
const VERIFIED_CACHE_SIZE = 10_000;

export class CookieSigner {
  readonly #keys: KeyObject[];
  /**
   * `name=value` + signature → index of the key that verified it, for cookies that verified:
   * the same answer the HMAC would give, without computing it again for every request of a
   * session. Bounded (oldest entries dropped); a cookie that fails is never remembered, so
   * forged cookies cannot fill it.
   */
  readonly #verified = new Map<string, number>();

  /** @param secrets one or more secrets; the first signs. Each is used as the raw HMAC key (UTF-8). */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError('at least one secret is required');
    this.#keys = secrets.map((s) => createSecretKey(Buffer.from(s, 'utf8')));
  }

  /** How many verified cookies are remembered (at most 10,000). */
  get remembered(): number {
    return this.#verified.size;
  }

  /** The signature of cookie `name` with `value`, under the first key. */
  sign(name: string, value: string): string {
    return mac(this.#keys[0]!, name, value);
  }

  /**
   * Which key signed `value`: 0 for the current key, a larger index for an older one (the caller
   * re-signs), -1 when none did or the signature is malformed.
   */
  verify(name: string, value: string, signature: string): number {
    // A SHA-1 MAC is 27 base64url characters; anything else cannot match.
    if (signature.length !== 27) return -1;
    const cacheKey = `${name}=${value}\u0000${signature}`;
    const known = this.#verified.get(cacheKey);
    if (known !== undefined) return known;
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== 20) return -1;
    for (let i = 0; i < this.#keys.length; i++) {
      if (timingSafeEqual(given, digest(this.#keys[i]!, name, value))) {
        if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value!);
        this.#verified.set(cacheKey, i);
        return i;
      }
    }
    return -1;
  }
}

function digest(key: KeyObject, name: string, value: string): Buffer {
  return createHmac('sha1', key).update(`${name}=${value}`).digest();
}

function mac(key: KeyObject, name: string, value: string): string {
  return digest(key, name, value).toString('base64url');
}
