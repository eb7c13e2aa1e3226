/**
 * Verification of DPoP proofs at the dev resource server (RFC 9449 4.3, 7.1): a `dpop+jwt`
 * signed by the key it embeds, for this method and URL, recent, not replayed, hashing the access
 * token (`ath`), by the key the token is bound to (`cnf.jkt`), and with the server's nonce when
 * one is demanded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';

/** Why a proof was refused; `use_dpop_nonce` asks the client to retry with the nonce sent along. */
export class DPoPProofError extends Error {
  constructor(readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce', message: string) {
    super(message);
  }
}

/** Checks proofs for one resource server: keeps the seen `jti`s (60 s) and the current nonce. */
export class DPoPVerifier {
  readonly #seen = new Map<string, number>();
  /** The server-issued nonce (RFC 9449 9), rotated every 5 minutes; the previous one stays valid. */
  #nonce = randomBytes(16).toString('base64url');
  #previous: string | undefined;
  #rotatedAt = Date.now();

  constructor(readonly requireNonce: boolean) {}

  /** The nonce to send in `DPoP-Nonce`. */
  nonce(): string {
    if (Date.now() - this.#rotatedAt > 5 * 60_000) {
      this.#previous = this.#nonce;
      this.#nonce = randomBytes(16).toString('base64url');
      this.#rotatedAt = Date.now();
    }
    return this.#nonce;
  }

  /**
   * @param proof the `DPoP` request header; @param accessToken the token of `Authorization: DPoP`;
   * @param jkt the token's `cnf.jkt`; @param method and @param url of the request.
   * @throws DPoPProofError
   */
  async verify(proof: string | undefined, accessToken: string, jkt: string, method: string, url: URL): Promise<void> {
    if (!proof) throw new DPoPProofError('invalid_dpop_proof', 'DPoP proof missing');
    let verified;
    try {
      verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'], maxTokenAge: '60s', clockTolerance: 5 });
    } catch (err) {
      throw new DPoPProofError('invalid_dpop_proof', `DPoP proof invalid (${(err as { code?: string }).code ?? 'invalid'})`);
    }
    const { payload, protectedHeader } = verified;
    if (await calculateJwkThumbprint(protectedHeader.jwk!) !== jkt) throw new DPoPProofError('invalid_dpop_proof', 'DPoP proof key does not match the token binding');
    if (payload.htm !== method) throw new DPoPProofError('invalid_dpop_proof', 'DPoP htm mismatch');
    if (payload.htu !== `${url.origin}${url.pathname}`) throw new DPoPProofError('invalid_dpop_proof', 'DPoP htu mismatch');
    if (payload.ath !== createHash('sha256').update(accessToken).digest('base64url')) throw new DPoPProofError('invalid_dpop_proof', 'DPoP ath mismatch');
    if (typeof payload.jti !== 'string' || this.#seen.has(payload.jti)) throw new DPoPProofError('invalid_dpop_proof', 'DPoP proof replayed');
    if (this.requireNonce && payload.nonce !== this.nonce() && (payload.nonce === undefined || payload.nonce !== this.#previous)) {
      throw new DPoPProofError('use_dpop_nonce', 'DPoP nonce required');
    }
    const now = Date.now();
    for (const [jti, at] of this.#seen) if (now - at > 120_000) this.#seen.delete(jti);
    this.#seen.set(payload.jti, now);
  }
}
