import test from 'ava';
import { createMemoryAdapter } from '../../dev-idp/memory-adapter.ts';

test('records expire after expiresIn seconds', async (t) => {
  const codes = createMemoryAdapter()('AuthorizationCode');
  await codes.upsert('a', { grantId: 'g' }, 0.05);
  t.truthy(await codes.find('a'));
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.is(await codes.find('a'), undefined);
});

test('revokeByGrantId removes the tokens of that grant only', async (t) => {
  const factory = createMemoryAdapter();
  const refresh = factory('RefreshToken');
  const access = factory('AccessToken');
  await refresh.upsert('r1', { grantId: 'g1' }, 60);
  await access.upsert('a1', { grantId: 'g1' }, 60);
  await access.upsert('a2', { grantId: 'g2' }, 60);
  await refresh.revokeByGrantId('g1');
  t.is(await refresh.find('r1'), undefined);
  t.is(await access.find('a1'), undefined);
  t.truthy(await access.find('a2'));
});

test('sessions are found by uid, consume marks a record, and stores are per provider', async (t) => {
  const sessions = createMemoryAdapter()('Session');
  await sessions.upsert('s1', { uid: 'u1' }, 60);
  t.truthy(await sessions.findByUid('u1'));
  await sessions.consume('s1');
  t.is(typeof (await sessions.find('s1'))?.consumed, 'number');
  t.is(await createMemoryAdapter()('Session').find('s1'), undefined);
});
