import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

/** A private JSON Web Key as stored in `<dataDir>/jwks.json` (RFC 7517). */
export interface PrivateJwk extends JWK {
  kid: string;
  alg: string;
  use: 'sig';
}

/** A new private signing key for `alg`, its RFC 7638 thumbprint as `kid`. */
export async function generateSigningKey(alg: 'RS256' | 'ES256'): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  // RFC 7638 thumbprint as kid: stable, and unique per key without a counter.
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

function parseJwks(text: string, path: string): PrivateJwk[] {
  const problem = `dev-idp: ${path} is not a private JWKS written by the dev-idp; delete it to generate new keys`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new Error(problem, { cause });
  }
  const keys = (parsed as { keys?: unknown }).keys;
  const valid = Array.isArray(keys) && keys.length > 0
    && keys.every((k) => typeof k?.kid === 'string' && typeof k?.alg === 'string' && typeof k?.d === 'string');
  if (!valid) throw new Error(problem);
  return keys as PrivateJwk[];
}

/**
 * Returns the provider's signing keys, generating them on first use: one RS256 key (ID tokens,
 * the most widely supported alg, OIDC Core 15.1) and one ES256 key.
 * Input: the data directory (created with mode 0700 if missing). Output: private JWKs.
 * Keys live in `<dataDir>/jwks.json` (mode 0600) so tokens issued before a restart stay valid.
 * Concurrent first starts are safe: the file is published with link(2), which never overwrites.
 * Throws if the directory cannot be written or the file is not a dev-idp JWKS.
 */
export async function loadOrCreateSigningKeys(dataDir: string): Promise<PrivateJwk[]> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'jwks.json');
  try {
    return parseJwks(await readFile(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keys = [await generateSigningKey('RS256'), await generateSigningKey('ES256')];
  const temp = join(dataDir, `.jwks.${randomUUID()}.tmp`);
  await writeFile(temp, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600 });
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parseJwks(await readFile(path, 'utf8'), path); // another process won the race
  } finally {
    await unlink(temp);
  }
  return keys;
}
