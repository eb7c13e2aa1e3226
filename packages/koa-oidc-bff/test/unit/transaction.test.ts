import test from 'ava';
import { TransactionCodec } from '../../src/login/transaction.ts';

const OLD = 'the-old-session-secret-0123456789abcdef';
const NEW = 'the-new-session-secret-0123456789abcdef';
const STATE = 'S'.repeat(43);
const payload = { nonce: 'n'.repeat(43), code_verifier: 'v'.repeat(43), returnTo: '/profile', iat: 1_800_000_000 };

test('a pending login sealed before a SESSION_SECRET rotation still opens after it (first key seals, all open)', async (t) => {
  const sealed = await new TransactionCodec([OLD]).seal(STATE, payload);
  t.deepEqual(await new TransactionCodec([NEW, OLD]).open(STATE, sealed), { ...payload, state: STATE });
  t.is(await new TransactionCodec([NEW]).open(STATE, sealed), undefined, 'not once the old key is gone');
  const resealed = await new TransactionCodec([NEW, OLD]).seal(STATE, payload);
  t.deepEqual(await new TransactionCodec([NEW]).open(STATE, resealed), { ...payload, state: STATE }, 'new ones use the first key');
});

test('a sealed transaction is bound to its state and to its bytes', async (t) => {
  const codec = new TransactionCodec([NEW]);
  const sealed = await codec.seal(STATE, payload);
  t.is(await codec.open('T'.repeat(43), sealed), undefined, 'another state');
  const parts = sealed.split('.');
  parts[3] = `${parts[3]!.slice(0, -2)}${parts[3]!.endsWith('AA') ? 'BB' : 'AA'}`;
  t.is(await codec.open(STATE, parts.join('.')), undefined, 'tampered ciphertext');
  t.is(await codec.open(STATE, 'not a jwe'), undefined);
  t.false(sealed.includes('/profile') || Buffer.from(parts[3]!, 'base64url').toString('latin1').includes('/profile'), 'encrypted, not just encoded');
});
