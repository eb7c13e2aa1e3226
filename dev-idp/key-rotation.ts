/**
 * Signing key rotation at runtime, for testing relying parties (OIDC Core 10.1.1): publish a new
 * key that signs from now on while the old one stays published, then retire the old one. The
 * provider's keystore is replaced in place (oidc-provider 9 builds it once from `jwks`; its
 * initializer is reused here, so keys are checked exactly as at startup). The change lives in
 * memory: a restart loads `<dataDir>/jwks.json` again.
 */
import type ProviderType from 'oidc-provider';
// oidc-provider 9 has no public API to change keys after construction; this is the initializer
// its constructor runs (lib/provider.js), called again on the same provider.
// @ts-expect-error: internal module of oidc-provider, without type declarations
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';
import { generateSigningKey, type PrivateJwk } from './keys.ts';

/** Holds the provider's current private keys; the first key of each algorithm signs. */
export class KeyRotation {
  #keys: PrivateJwk[];

  constructor(private readonly provider: ProviderType, keys: PrivateJwk[]) {
    this.#keys = [...keys];
  }

  /** The key ids published now, signing keys first. */
  get kids(): string[] {
    return this.#keys.map((k) => k.kid);
  }

  /** The private keys published now (for tests that sign with a key the IdP holds). */
  get keys(): readonly PrivateJwk[] {
    return this.#keys;
  }

  /**
   * Generates a new RS256 and a new ES256 key, publishes them in front of the current ones (they
   * sign ID tokens and Logout Tokens from now on) and keeps the old ones published for verifiers.
   * @returns the new key ids.
   */
  async rotate(): Promise<string[]> {
    const added = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
    this.#set([...added, ...this.#keys]);
    return added.map((k) => k.kid);
  }

  /**
   * Removes the keys `kids` from the JWKS (the provider stops signing with and publishing them).
   * @throws when that would leave no RS256 key (ID tokens need one).
   */
  retire(kids: readonly string[]): void {
    const remaining = this.#keys.filter((k) => !kids.includes(k.kid));
    if (!remaining.some((k) => k.alg === 'RS256')) throw new Error('dev-idp: retiring these keys would leave no RS256 signing key');
    this.#set(remaining);
  }

  #set(keys: PrivateJwk[]): void {
    (initializeKeystore as (this: ProviderType, jwks: { keys: PrivateJwk[] }) => void).call(this.provider, { keys: structuredClone(keys) });
    this.#keys = keys;
  }
}
