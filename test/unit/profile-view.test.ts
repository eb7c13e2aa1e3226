import test from 'ava';
import { profileView } from '../../src/routes/profile-view.ts';

const claims = {
  sub: 'u1',
  name: 'Ada',
  email: 'ada@example.test',
  groups: ['a', 'b'],
  address: { locality: 'X', geo: { lat: 1 } },
  updated_at: 1_764_547_200,
  iss: 'https://idp.example',
  aud: 'client',
  nonce: 'n',
  sid: 's',
  at_hash: 'h',
  iat: 1_764_547_200,
  exp: 1_764_550_800,
  amr: ['pwd'],
};

test('profileView: identity on top, user claims apart from protocol claims, in a fixed order', (t) => {
  const view = profileView(claims);
  t.is(view.name, 'Ada');
  t.is(view.email, 'ada@example.test');
  t.is(view.initial, 'A');
  t.deepEqual(view.claims.map((c) => c.name), ['sub', 'name', 'email', 'groups', 'address', 'updated_at']);
  t.deepEqual(view.protocol.map((c) => c.name), ['iss', 'aud', 'nonce', 'sid', 'at_hash', 'amr', 'iat', 'exp']);
});

test('profileView: NumericDate claims become dates with the raw value kept, arrays lists, objects nested entries', (t) => {
  const view = profileView(claims);
  const byName = new Map([...view.claims, ...view.protocol].map((c) => [c.name, c.value]));
  t.deepEqual(byName.get('updated_at'), { kind: 'time', iso: '2025-12-01T00:00:00.000Z', text: '2025-12-01 00:00 UTC', raw: '1764547200' });
  t.deepEqual(byName.get('groups'), { kind: 'list', items: [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }] });
  t.deepEqual(byName.get('address'), { kind: 'object', entries: [
    { name: 'locality', value: { kind: 'text', text: 'X' } },
    { name: 'geo', value: { kind: 'object', entries: [{ name: 'lat', value: { kind: 'text', text: '1' } }] } },
  ] });
  // A time claim that is not a number stays text.
  t.deepEqual(profileView({ sub: 'u', exp: 'soon' }).protocol[0]?.value, { kind: 'text', text: 'soon' });
});

test('profileView: a picture is an image only as a data:image URL (CSP img-src), a link only when https, else nothing', (t) => {
  t.deepEqual(profileView({ sub: 'u', picture: 'data:image/png;base64,iVBORw0KGgo=' }).picture, { src: 'data:image/png;base64,iVBORw0KGgo=' });
  t.deepEqual(profileView({ sub: 'u', picture: 'https://cdn.example/p.png' }).picture, { href: 'https://cdn.example/p.png' });
  for (const bad of ['javascript:alert(1)', 'http://cdn.example/p.png', 'data:text/html;base64,PHNjcmlwdD4=', 'data:image/svg+xml;base64,PHN2Zz4=', 42]) {
    t.is(profileView({ sub: 'u', picture: bad }).picture, undefined, String(bad));
  }
});
