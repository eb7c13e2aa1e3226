import test from 'ava';
import Keygrip from 'keygrip';
import { cookieKeys } from '../../src/session/cookie-keys.ts';

const NEW = 'new-session-secret-0123456789abcdef';
const OLD = 'old-session-secret-0123456789abcdef';
const DATA = 'bff.sid=Abc_def-0123456789ABCDEFGHIJKLMNOPQ';

test('signatures are the ones keygrip makes, so cookies signed before the switch stay valid', (t) => {
  const keys = cookieKeys([NEW, OLD]);
  const reference = new Keygrip([NEW, OLD]);
  t.is(keys.sign(DATA), reference.sign(DATA));
  t.is(reference.index(DATA, keys.sign(DATA)), 0);
  t.is(keys.index(DATA, reference.sign(DATA)), 0);
});

test('index names the key that signed: 0 for the current key, 1 for a rotated-out key', (t) => {
  const keys = cookieKeys([NEW, OLD]);
  t.is(keys.index(DATA, cookieKeys([OLD]).sign(DATA)), 1);
  t.true(keys.verify(DATA, cookieKeys([OLD]).sign(DATA)));
});

test('a forged, truncated, foreign or missing signature is refused', (t) => {
  const keys = cookieKeys([NEW, OLD]);
  const good = keys.sign(DATA);
  const flipped = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
  t.is(keys.index(DATA, flipped), -1);
  t.is(keys.index(DATA, good.slice(0, -1)), -1);
  t.is(keys.index(DATA, `${good}A`), -1);
  t.is(keys.index(DATA, cookieKeys(['another-secret-0123456789abcdef-xyz']).sign(DATA)), -1);
  t.is(keys.index(`${DATA}x`, good), -1);
  t.is(keys.index(DATA, ''), -1);
  t.is(keys.index(DATA, undefined as unknown as string), -1);
  t.false(keys.verify(DATA, flipped));
});

test('no keys is a programming error', (t) => {
  t.throws(() => cookieKeys([]), { message: /at least one key/ });
});
