/** Redis specifics beyond the contract: key expiry follows the session, indexes are cleaned up, an unreachable Redis fails fast. */
import net from 'node:net';
import test from 'ava';
import { createRedisStore } from 'koa-oidc-bff/stores/redis';
import { StoreUnavailableError } from 'koa-oidc-bff';
import { deleteKeys, redisUrlOrSkip, testRedisStore, uniquePrefix } from '../helpers/redis.ts';
import { readWhileLoginWaits } from '../helpers/replica-wait.ts';
import { sampleRecord } from 'koa-oidc-bff/testing';

const url = redisUrlOrSkip(test, 'redis store specifics');

test('an unreachable Redis: the store still opens, and every call rejects fast with StoreUnavailableError', async (t) => {
  // A port nobody listens on (taken from the kernel, then released).
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const store = await createRedisStore(`redis://127.0.0.1:${port}`, { startupWaitMs: 200 });
  try {
    for (const call of [() => store.get('x', Date.now()), () => store.ping(), () => store.create(sampleRecord()), () => store.claimOnce('k', 10)]) {
      const err = await t.throwsAsync(call(), { instanceOf: StoreUnavailableError });
      t.is(err?.code, 'ERR_SESSION_STORE_UNAVAILABLE');
    }
  } finally {
    await store.close();
  }
});

if (url) {
  const prefix = uniquePrefix('specifics');
  test.after.always(() => deleteKeys(url, prefix));

  test('waitReplicas: a login or logout no replica confirms is refused (503), never acknowledged; without it, as before', async (t) => {
    // The test Redis has no replica: WAIT 1 answers 0.
    const careful = await createRedisStore(url, { prefix, waitReplicas: 1, waitTimeoutMs: 50 });
    const plain = await testRedisStore(url, prefix);
    t.teardown(async () => {
      await careful.close();
      await plain.close();
    });
    await t.throwsAsync(careful.create(sampleRecord()), { instanceOf: StoreUnavailableError });
    const record = sampleRecord();
    await plain.create(record);
    await t.throwsAsync(careful.destroy(record.id), { instanceOf: StoreUnavailableError });
    await t.throwsAsync(careful.destroyBySub(record.sub), { instanceOf: StoreUnavailableError });
    await t.throwsAsync(careful.destroyBySid(record.sid!), { instanceOf: StoreUnavailableError });
    t.is(await careful.get(record.id, Date.now()), undefined, 'the write itself happened on the primary');
    const again = sampleRecord();
    await plain.create(again);
    t.not(await plain.get(again.id, Date.now()), undefined);
  });

  test('waitReplicas: a login waiting for its replica (WAIT) does not hold the reads', async (t) => {
    // The test Redis has no replica: WAIT 1 holds its connection the whole 1.5 s.
    const careful = await createRedisStore(url, { prefix, waitReplicas: 1, waitTimeoutMs: 1500 });
    t.teardown(() => careful.close());
    const plain = await testRedisStore(url, prefix);
    t.teardown(() => plain.close());
    const reader = sampleRecord();
    await plain.create(reader);
    const { order, read, readMs } = await readWhileLoginWaits(careful, sampleRecord(), reader.id);
    t.not(read, undefined);
    t.deepEqual(order, ['read', 'login refused'], `the read answered first (${readMs} ms), while the login still waited for a replica`);
  });

  test('the session key expires with the session, and touch moves the expiry', async (t) => {
    const store = await testRedisStore(url, prefix);
    t.teardown(() => store.close());
    const t0 = Date.now();
    const record = sampleRecord({ lastSeenAt: t0, idleExpiresAt: t0 + 5_000, absoluteExpiresAt: t0 + 90_000 });
    await store.create(record);
    const key = `${prefix}s:${record.id}`;
    const ttl = await store.client.pttl(key);
    t.true(ttl > 0 && ttl <= 5_000, `PTTL ${ttl} at most the idle timeout`);
    await store.touch(record.id, t0 + 1000, t0 + 61_000);
    const renewed = await store.client.pttl(key);
    t.true(renewed > 5_000 && renewed <= 60_000, `PTTL ${renewed} renewed to the new idle expiry`);
    // Near the end of the absolute lifetime the key lives no longer than it.
    await store.touch(record.id, t0 + 80_000, t0 + 140_000);
    t.true((await store.client.pttl(key)) <= 10_000, 'capped by the absolute expiry');
    const indexTtl = await store.client.pttl(`${prefix}u:${record.sub}`);
    t.true(indexTtl > 60_000 && indexTtl <= 90_000, 'the user index lives as long as its longest session');
  });

  test('destroy, destroyBySub and destroyBySid leave no index entries behind', async (t) => {
    const store = await testRedisStore(url, prefix);
    t.teardown(() => store.close());
    const sub = 'indexed-sub';
    const sid = 'indexed-sid';
    const records = [sampleRecord({ sub, sid }), sampleRecord({ sub }), sampleRecord({ sub, sid: undefined })];
    for (const r of records) await store.create(r);
    t.is(await store.client.zcard(`${prefix}u:${sub}`), 3);
    await store.destroy(records[0]!.id);
    t.is(await store.client.zcard(`${prefix}u:${sub}`), 2);
    t.is(await store.client.exists(`${prefix}i:${sid}`), 0, 'the sid index went with its last session');
    t.is(await store.destroyBySub(sub), 2);
    t.is(await store.client.exists(`${prefix}u:${sub}`), 0);
    t.deepEqual(await store.client.keys(`${prefix}s:*`).then((keys) => keys.filter((k) => records.some((r) => k.endsWith(r.id)))), []);
  });

  test('update and touch of a destroyed session leave no key behind', async (t) => {
    const store = await testRedisStore(url, prefix);
    t.teardown(() => store.close());
    const record = sampleRecord();
    await store.create(record);
    await store.destroy(record.id);
    t.false(await store.update(record.id, { accessToken: 'late' }));
    await store.touch(record.id, Date.now() + 1000, Date.now() + 60_000);
    t.is(await store.client.exists(`${prefix}s:${record.id}`), 0, 'a partial hash without TTL would live for ever');
  });

  test('an index entry whose session expired is pruned, not listed', async (t) => {
    const store = await testRedisStore(url, prefix);
    t.teardown(() => store.close());
    const sub = 'pruned-sub';
    const gone = sampleRecord({ sub });
    const kept = sampleRecord({ sub });
    await store.create(gone);
    await store.create(kept);
    await store.client.del(`${prefix}s:${gone.id}`); // as Redis does when the key's TTL runs out
    t.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id), [kept.id]);
    t.deepEqual(await store.client.zrange(`${prefix}u:${sub}`, '0', '-1'), [kept.id], 'pruned from the index');
  });
}
