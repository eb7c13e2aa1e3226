import { generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { readClientKey } from '../../src/oidc/client-key.ts';

test('RSA PEM, EC JWK and Ed25519 keys give RS256, ES256/ES384 and EdDSA; the public JWK has no private members', (t) => {
  const cases = [
    { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }), alg: 'RS256' },
    { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }), alg: 'RS256' },
    { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), alg: 'ES256' },
    { key: JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' })), alg: 'ES384' },
    { key: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), alg: 'EdDSA' },
  ];
  for (const { key, alg } of cases) {
    const read = readClientKey(key, undefined);
    if (!read.ok) return t.fail(read.message);
    t.is(read.key.alg, alg);
    t.is(read.key.publicJwk.alg, alg);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.false(member in read.key.publicJwk, `${alg} public JWK has no ${member}`);
  }
});

test('kid: the option wins, then the JWK\'s own kid, then the thumbprint (stable)', async (t) => {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const byOption = readClientKey({ ...jwk, kid: 'own' }, 'chosen');
  const own = readClientKey({ ...jwk, kid: 'own' }, undefined);
  const a = readClientKey(jwk, undefined);
  const b = readClientKey(JSON.stringify(jwk), undefined);
  t.true(byOption.ok && own.ok && a.ok && b.ok);
  if (byOption.ok && own.ok && a.ok && b.ok) {
    t.is(byOption.key.kid, 'chosen');
    t.is(own.key.kid, 'own');
    t.is(a.key.kid, b.key.kid);
    const { d: _d, ...publicJwk } = jwk;
    t.is(a.key.kid, await calculateJwkThumbprint(publicJwk as JWK), 'RFC 7638 thumbprint');
  }
});

test('a public key, a symmetric JWK, a weak RSA key, a P-521 key or garbage is refused without quoting it', (t) => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const inputs = [
    pair.publicKey.export({ format: 'pem', type: 'spki' }),
    { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' },
    generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    'SECRET-GARBAGE',
  ];
  for (const input of inputs) {
    const read = readClientKey(input, undefined);
    t.false(read.ok);
    if (!read.ok) t.false(read.message.includes('SECRET') || read.message.includes('c2Vj'));
  }
});
