/**
 * Client authentication at the IdP's token, PAR and revocation endpoints (OIDC Core 9):
 * `client_secret_basic`, `client_secret_post`, or `private_key_jwt` (RFC 7523 2.2) with
 * openid-client's implementations.
 */
import { importJWK } from 'jose';
import * as client from 'openid-client';
import type { ClientKey } from './client-key.ts';

/** The method and what it needs: a secret, or a checked private key. */
export type ClientCredentials =
  | { method: 'client_secret_basic' | 'client_secret_post'; secret: string }
  | { method: 'private_key_jwt'; key: ClientKey };

/**
 * The openid-client `ClientAuth` and client metadata for `credentials`. Async: the private key is
 * imported as a non-extractable CryptoKey once, at discovery.
 */
export async function clientAuthentication(credentials: ClientCredentials): Promise<{ auth: client.ClientAuth; metadata: Partial<client.ClientMetadata> }> {
  switch (credentials.method) {
    case 'client_secret_basic':
      return { auth: client.ClientSecretBasic(credentials.secret), metadata: { client_secret: credentials.secret } };
    case 'client_secret_post':
      return { auth: client.ClientSecretPost(credentials.secret), metadata: { client_secret: credentials.secret, token_endpoint_auth_method: 'client_secret_post' } };
    case 'private_key_jwt': {
      const { key } = credentials;
      const privateKey = (await importJWK(key.privateJwk, key.alg, { extractable: false })) as CryptoKey;
      return { auth: client.PrivateKeyJwt({ key: privateKey, kid: key.kid }), metadata: { token_endpoint_auth_method: 'private_key_jwt' } };
    }
  }
}

/** The client's public JWKS (RFC 7517 5) to register at the IdP: the public half of `key` only. */
export function publicJwks(key: ClientKey): { keys: ClientKey['publicJwk'][] } {
  return { keys: [key.publicJwk] };
}
