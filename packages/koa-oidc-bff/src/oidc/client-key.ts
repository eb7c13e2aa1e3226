/**
 * The `private_key_jwt` client key (RFC 7523 2.2, OIDC Core 9): read once from a PEM or a JWK,
 * checked, and reduced to what signing needs and what the IdP must be told (the public JWK with
 * its `kid`). The private key is never logged, and no error message quotes it.
 */
import { createHash, createPrivateKey, createPublicKey, type JsonWebKey as NodeJsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** A checked client key. */
export interface ClientKey {
  /** The private key as a JWK (RSA, EC or OKP), for jose's importJWK. */
  readonly privateJwk: JWK;
  /** The public JWK with `kid`, `alg` and `use: 'sig'`, for the JWKS the IdP is given. */
  readonly publicJwk: JWK & { kid: string; alg: string };
  /** The JWS algorithm of client assertions: RS256, ES256, ES384 or EdDSA. */
  readonly alg: string;
  readonly kid: string;
}

/**
 * Reads `input` (PKCS#8 or PKCS#1/SEC1 PEM, or a private JWK as an object or JSON string).
 * @param kid the `kid` to use; default the JWK's own, else the RFC 7638 SHA-256 thumbprint.
 * @returns the key, or a message that names the problem without quoting the key.
 */
export function readClientKey(input: unknown, kid: string | undefined): { ok: true; key: ClientKey } | { ok: false; message: string } {
  let keyObject: KeyObject;
  let ownKid: string | undefined;
  try {
    if (typeof input === 'string' && input.trim().startsWith('-----BEGIN')) {
      keyObject = createPrivateKey(input);
    } else {
      const jwk = (typeof input === 'string' ? JSON.parse(input) : input) as JWK;
      if (typeof jwk !== 'object' || jwk === null) return { ok: false, message: 'must be a PEM private key or a private JWK' };
      ownKid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
      keyObject = createPrivateKey({ key: jwk as unknown as NodeJsonWebKey, format: 'jwk' });
    }
  } catch {
    return { ok: false, message: 'must be a PEM private key or a private JWK (it could not be read; the value is not shown)' };
  }
  if (keyObject.type !== 'private') return { ok: false, message: 'must be a private key' };
  const alg = algorithmOf(keyObject);
  if (!alg) return { ok: false, message: 'must be an RSA (2048 bits or more), EC P-256/P-384 or Ed25519 key' };
  const privateJwk = keyObject.export({ format: 'jwk' }) as JWK;
  const publicJwk = createPublicKey(keyObject).export({ format: 'jwk' }) as JWK;
  const id = kid ?? ownKid ?? thumbprint(publicJwk);
  return { ok: true, key: { privateJwk, publicJwk: { ...publicJwk, kid: id, alg, use: 'sig' }, alg, kid: id } };
}

function algorithmOf(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa': return (details?.modulusLength ?? 0) >= 2048 ? 'RS256' : undefined;
    case 'ec': return details?.namedCurve === 'prime256v1' ? 'ES256' : details?.namedCurve === 'secp384r1' ? 'ES384' : undefined;
    case 'ed25519': return 'EdDSA';
    default: return undefined;
  }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public RSA, EC or OKP key: the required members in lexicographic order. */
function thumbprint(jwk: JWK): string {
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
    : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
