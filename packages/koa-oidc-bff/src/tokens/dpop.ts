/**
 * DPoP (RFC 9449) for the BFF: one key pair per session, generated at login and kept as a
 * private JWK in the session's token record (server-side, read only where tokens are read,
 * never on the plain authenticated GET path and never sent to the browser). openid-client binds
 * the tokens at the token endpoint (and retries once on `use_dpop_nonce`); `callApi` signs a
 * fresh proof per request here, with `ath`, and retries once when the API asks for a nonce.
 */
import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, importJWK, SignJWT, type JWK } from 'jose';
import * as client from 'openid-client';

/** The algorithm of the session keys (the one every DPoP server must support in practice). */
export const DPOP_ALG = 'ES256';

/** A new key pair for a session, and its private JWK to keep in the token record. */
export async function newDPoPKey(): Promise<{ keyPair: CryptoKeyPair; jwk: JWK }> {
  const keyPair = await client.randomDPoPKeyPair(DPOP_ALG, { extractable: true });
  const jwk = await exportJWK(keyPair.privateKey);
  return { keyPair, jwk };
}

/** The key pair of a stored private JWK (the public key is its public members). */
export async function dpopKeyPair(jwk: JWK): Promise<CryptoKeyPair> {
  const { d: _d, ...publicJwk } = jwk;
  const [privateKey, publicKey] = await Promise.all([
    importJWK(jwk, DPOP_ALG, { extractable: false }) as Promise<CryptoKey>,
    importJWK(publicJwk, DPOP_ALG, { extractable: true }) as Promise<CryptoKey>,
  ]);
  return { privateKey, publicKey };
}

/** A stored private JWK, if the token record holds one. */
export function storedDPoPKey(record: Record<string, unknown>): JWK | undefined {
  const jwk = record.dpopKey;
  return typeof jwk === 'object' && jwk !== null && typeof (jwk as JWK).d === 'string' ? (jwk as JWK) : undefined;
}

/** The openid-client DPoP handle of a stored key, for the refresh_token grant. */
export async function dpopHandle(config: client.Configuration, jwk: JWK): Promise<client.DPoPHandle> {
  return client.getDPoPHandle(config, await dpopKeyPair(jwk));
}

/** Server-issued nonces by origin (RFC 9449 9): not secret, shared by every session; bounded. */
const nonces = new Map<string, string>();

/** Remembers the `DPoP-Nonce` an upstream sent. */
export function rememberNonce(url: URL, response: Response): void {
  const nonce = response.headers.get('dpop-nonce');
  if (!nonce) return;
  nonces.delete(url.origin);
  if (nonces.size >= 100) nonces.delete(nonces.keys().next().value!);
  nonces.set(url.origin, nonce);
}

/**
 * A DPoP proof (RFC 9449 4.2) for one request to a resource server: `htm`, `htu` (without query
 * and fragment), `iat`, a unique `jti`, `ath` (SHA-256 of the access token) and the origin's
 * last nonce, signed with the session key.
 */
export async function dpopProof(jwk: JWK, method: string, url: URL, accessToken: string): Promise<string> {
  const { d: _d, ...publicJwk } = jwk;
  const privateKey = await importJWK(jwk, DPOP_ALG, { extractable: false });
  const nonce = nonces.get(url.origin);
  return new SignJWT({
    htm: method,
    htu: `${url.origin}${url.pathname}`,
    ath: createHash('sha256').update(accessToken).digest('base64url'),
    ...(nonce ? { nonce } : {}),
  })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: DPOP_ALG, jwk: { kty: publicJwk.kty!, crv: publicJwk.crv!, x: publicJwk.x!, y: publicJwk.y! } })
    .setIssuedAt()
    .setJti(randomUUID())
    .sign(privateKey);
}

/** True when an upstream refused the proof for want of a (fresh) nonce (RFC 9449 9). */
export function wantsNonce(response: Response): boolean {
  return response.status === 401 && /\berror="?use_dpop_nonce\b/.test(response.headers.get('www-authenticate') ?? '') && response.headers.has('dpop-nonce');
}
