/**
 * Login transactions: `state`, `nonce`, PKCE `code_verifier` and `returnTo` of one login attempt,
 * kept in the browser as an encrypted cookie named after its `state` (one cookie per attempt, so
 * several tabs can log in at once) and nowhere on the server (nothing is stored for anonymous
 * traffic). Encryption: JWE `dir` + `A256GCM` (jose), key derived from the session keys with HKDF.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/** One login attempt (RFC 6749 10.12 `state`, OIDC Core 3.1.2.1 `nonce`, RFC 7636 `code_verifier`). */
export interface LoginTransaction {
  state: string;
  nonce: string;
  /** Absent for the id_token response type. */
  code_verifier: string | undefined;
  returnTo: string;
  /** Creation time, seconds since the epoch. */
  iat: number;
  /** Step-up: the `acr_values` asked for (OIDC Core 3.1.2.1), checked against the ID token's `acr`. */
  acr_values?: string;
  /**
   * The `max_age` asked for, in seconds (checked by openid-client against `auth_time`): a step-up's,
   * or 0 when the browser's cookie named a session ended by its user or the IdP.
   */
  max_age?: number;
}

export type TransactionPayload = Omit<LoginTransaction, 'state'>;

const INFO = 'koa-oidc-bff login transaction v1';
/** `state` values we produce and accept: base64url, 32 to 128 characters. */
export const STATE_PATTERN = /^[A-Za-z0-9_-]{32,128}$/;

/** Encrypts and decrypts transaction payloads with keys derived from the session secrets (first encrypts, all decrypt). */
export class TransactionCodec {
  readonly #keys: { kid: string; key: Uint8Array }[];

  /** @param secrets the session secrets; at least one. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new TypeError('TransactionCodec needs at least one secret');
    this.#keys = secrets.map((secret) => {
      const key = new Uint8Array(hkdfSync('sha256', secret, '', INFO, 32));
      const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
      return { kid, key };
    });
  }

  /** Returns the compact JWE of `payload`, bound to `state` (as additional authenticated data). */
  async seal(state: string, payload: TransactionPayload): Promise<string> {
    const first = this.#keys[0]!;
    return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: first.kid, st: digest(state) })
      .encrypt(first.key);
  }

  /** Decrypts `jwe` for `state`; returns undefined when it is forged, for another state, or from an unknown key. */
  async open(state: string, jwe: string): Promise<LoginTransaction | undefined> {
    for (const { key } of this.#keys) {
      try {
        const { plaintext, protectedHeader } = await compactDecrypt(jwe, key);
        if (protectedHeader.st !== digest(state)) return undefined;
        const payload = JSON.parse(new TextDecoder().decode(plaintext)) as TransactionPayload;
        return { ...payload, state };
      } catch {
        // try the next key
      }
    }
    return undefined;
  }
}

/** A short one-way digest of a `state` value, safe to log and to store as a single-use marker. */
export function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}
