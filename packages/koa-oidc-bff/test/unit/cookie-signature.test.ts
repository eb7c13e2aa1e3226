/** The session cookie signature: keygrip's format, key rotation, and the bounded memory of verified cookies. */
import test from 'ava';
import Keygrip from 'keygrip';
import { CookieSigner } from '../../src/session/cookie-signature.ts';

const OLD = 'an-old-session-secret-0123456789abcdef';
const NEW = 'the-new-session-secret-0123456789abcdef';

test('signatures are what keygrip (Koa signed cookies) computes for `name=value`', (t) => {
  const signer = new CookieSigner([NEW, OLD]);
  const keygrip = new Keygrip([NEW, OLD]);
  t.is(signer.sign('bff.sid', 'abc'), keygrip.sign('bff.sid=abc'));
  t.is(signer.verify('bff.sid', 'abc', keygrip.sign('bff.sid=abc')), 0);
  t.is(signer.verify('bff.sid', 'abc', new Keygrip([OLD]).sign('bff.sid=abc')), 1, 'an older key verifies (the caller re-signs)');
  t.is(signer.verify('bff.sid', 'abd', keygrip.sign('bff.sid=abc')), -1, 'another value');
  t.is(signer.verify('other', 'abc', keygrip.sign('bff.sid=abc')), -1, 'another cookie name');
  t.is(signer.verify('bff.sid', 'abc', 'x'.repeat(27)), -1, 'a forged signature');
  t.is(signer.verify('bff.sid', 'abc', ''), -1);
});

test('a verified cookie is remembered (same answer next time), a failed one never is, and the memory is bounded', (t) => {
  const signer = new CookieSigner([NEW]);
  const sig = signer.sign('bff.sid', 'id-1');
  t.is(signer.remembered, 0);
  t.is(signer.verify('bff.sid', 'id-1', sig), 0);
  t.is(signer.remembered, 1);
  t.is(signer.verify('bff.sid', 'id-1', sig), 0, 'answered from memory');
  t.is(signer.verify('bff.sid', 'id-1', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`), -1, 'a tampered signature of a remembered cookie still fails');
  for (let i = 0; i < 50; i++) signer.verify('bff.sid', `forged-${i}`, sig);
  t.is(signer.remembered, 1, 'failures are not remembered');
  for (let i = 0; i < 10_050; i++) signer.verify('bff.sid', `id-${i}`, signer.sign('bff.sid', `id-${i}`));
  t.is(signer.remembered, 10_000, 'at most 10,000 remembered');
  t.is(signer.verify('bff.sid', 'id-3', signer.sign('bff.sid', 'id-3')), 0, 'an entry dropped from memory still verifies');
});
