/**
 * Signing keys for the session cookie's `.sig` companion, as a drop-in for `app.keys` (Koa passes
 * a Keygrip-compatible object straight to the `cookies` package).
 *
 * Same signatures as keygrip's defaults (HMAC-SHA1, base64url without padding), so existing
 * cookies stay valid, but verified with one HMAC and crypto.timingSafeEqual per key. keygrip
 * compares through tsscmp, which draws 32 random bytes and computes two more HMACs per compare:
 * the largest single cost of an authenticated request in the benchmark's profile (issue 7).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The Keygrip interface Koa and `cookies` call. */
export interface CookieKeys {
  /** Signature of `data` with the first key. */
  sign(data: string): string;
  /** True when `digest` is the signature of `data` with any key. */
  verify(data: string, digest: string): boolean;
  /** Index of the key that signed `data` as `digest` (0 = current), or -1 when none did. */
  index(data: string, digest: string): number;
}

/**
 * @param keys secrets, the first signs, all verify (rotation: put the new key first).
 * @throws when `keys` is empty.
 */
export function cookieKeys(keys: readonly string[]): CookieKeys {
  if (keys.length === 0) throw new Error('cookieKeys: at least one key is required');
  const secrets = [...keys];
  const sign = (data: string, key: string) => createHmac('sha1', key).update(data).digest('base64url');
  return {
    sign: (data) => sign(data, secrets[0]!),
    verify(data, digest) {
      return this.index(data, digest) > -1;
    },
    index(data, digest) {
      if (typeof digest !== 'string') return -1;
      const given = Buffer.from(digest);
      for (let i = 0; i < secrets.length; i++) {
        const expected = Buffer.from(sign(data, secrets[i]!));
        // timingSafeEqual needs equal lengths; the length of a signature is no secret.
        if (given.length === expected.length && timingSafeEqual(given, expected)) return i;
      }
      return -1;
    },
  };
}
