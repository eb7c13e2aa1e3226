/**
 * The one contract every session store passes (src/session/store.ts). Call {@link storeContract}
 * from a test file with a factory; each test gets a fresh store. Expiry that the store must
 * enforce by itself (Redis TTL, the SQLite and memory purge) is checked in real time by polling,
 * never by asserting on durations.
 */
import { randomUUID } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { newSessionId } from '../session/session-middleware.ts';
import type { SessionRecord, SessionStore } from '../session/store.ts';

export interface StoreHarness {
  store: SessionStore;
  /** Closes the store and removes what the harness created (temp files, keys). */
  close(): Promise<void>;
}

/** A live record: idle expiry in 1 minute, absolute in 1 hour, nasty but valid data. */
export function sampleRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const t = Date.now();
  const sub = overrides.sub ?? `sub-${randomUUID()}`;
  return {
    id: newSessionId(),
    sub,
    sid: `sid-${randomUUID()}`,
    createdAt: t,
    lastSeenAt: t,
    idleExpiresAt: t + 60_000,
    absoluteExpiresAt: t + 3_600_000,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36',
    data: {
      user: { sub, name: 'Zoë <script>alert(1)</script> "O\'Brien"', email: undefined },
      claims: { groups: ['a', 'b'], nested: { deep: [1, 2.5, null, true] }, empty: {}, none: [] },
      accessToken: 'eyJ.access.token',
      accessTokenExpiresAt: 1_900_000_000,
      csrfSecret: 'csrf-secret',
    },
    ...overrides,
  };
}

/** What a store gives back for `r`: the data as JSON would carry it (undefined values dropped). */
const expected = (r: SessionRecord): SessionRecord => ({ ...r, data: JSON.parse(JSON.stringify(r.data)) as Record<string, unknown> });

/** Every stored record of `sub`, expired or not: "live at time 0" is all that has not been removed. */
const storedOf = (store: SessionStore, sub: string) => store.listBySub(sub, 0);

async function eventually(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Registers the contract tests for one store.
 * @param name label prefixed to every test title (`memory`, `sqlite`, `redis`).
 * @param open makes a fresh, empty store; for the expiry tests it must remove expired records
 *   within seconds (short purge interval).
 */
export function storeContract(name: string, open: () => Promise<StoreHarness>): void {
  const it = (title: string, body: (t: ExecutionContext, store: SessionStore) => Promise<void>) =>
    test(`${name} store: ${title}`, async (t) => {
      const harness = await open();
      try {
        await body(t, harness.store);
      } finally {
        await harness.close();
      }
    });

  it('returns what was created, unchanged', async (t, store) => {
    const r = sampleRecord();
    await store.create(r);
    t.deepEqual(await store.get(r.id, Date.now()), expected(r), 'get after create');
    const noSid = sampleRecord({ sid: undefined });
    await store.create(noSid);
    t.deepEqual((await store.get(noSid.id, Date.now()))?.sid, undefined, 'a record without sid');
  });

  it('keeps a large claim set', async (t, store) => {
    const claims = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`claim_${i}`, `value ${i} ${'x'.repeat(100)}`]));
    const r = sampleRecord({ data: { claims } });
    await store.create(r);
    t.deepEqual((await store.get(r.id, Date.now()))?.data, { claims }, 'large data');
  });

  it('knows nothing of unknown ids', async (t, store) => {
    t.true((await store.get(newSessionId(), Date.now())) === undefined, 'unknown id');
    t.true((await store.update(newSessionId(), { a: 1 })) === false, 'update of an unknown id');
  });

  it('never returns a record past its idle or absolute expiry', async (t, store) => {
    const r = sampleRecord();
    await store.create(r);
    t.true((await store.get(r.id, r.idleExpiresAt - 1)) !== undefined, 'live just before idle expiry');
    t.true((await store.get(r.id, r.idleExpiresAt)) === undefined, 'gone at idle expiry');
    const capped = sampleRecord({ idleExpiresAt: Date.now() + 120_000, absoluteExpiresAt: Date.now() + 60_000 });
    await store.create(capped);
    t.true((await store.get(capped.id, capped.absoluteExpiresAt)) === undefined, 'gone at absolute expiry even if idle is later');
    t.deepEqual((await store.listBySub(r.sub, r.idleExpiresAt)).length, 0, 'listBySub excludes expired');
  });

  it('update replaces and removes top-level keys, leaving the others', async (t, store) => {
    const r = sampleRecord();
    await store.create(r);
    t.true(await store.update(r.id, { accessToken: 'new-token', extra: { a: [1] }, accessTokenExpiresAt: undefined }, ['csrfSecret']), 'update returns true');
    const data = (await store.get(r.id, Date.now()))!.data;
    t.deepEqual(data.accessToken, 'new-token', 'replaced key');
    t.deepEqual(data.extra, { a: [1] }, 'added key');
    t.false('csrfSecret' in data, 'removed key');
    t.false('accessTokenExpiresAt' in data, 'a key set to undefined is removed, as JSON would');
    t.deepEqual(data.claims, expected(r).data.claims, 'untouched key');
  });

  it('concurrent updates of different keys are all kept', async (t, store) => {
    const r = sampleRecord();
    await store.create(r);
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.update(r.id, { [`k${i}`]: i })));
    const data = (await store.get(r.id, Date.now()))!.data;
    for (let i = 0; i < 25; i++) t.deepEqual(data[`k${i}`], i, `key k${i}`);
  });

  it('update and touch racing a destroy never resurrect the session', async (t, store) => {
    for (let round = 0; round < 15; round++) {
      const t0 = Date.now();
      const r = sampleRecord({ createdAt: t0, lastSeenAt: t0 });
      await store.create(r);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        if (i === round % 6) ops.push(store.destroy(r.id));
        ops.push(store.update(r.id, { [`k${i}`]: i }), store.touch(r.id, t0 + i + 1, t0 + 60_000 + i));
      }
      await Promise.all(ops);
      t.true((await store.get(r.id, Date.now())) === undefined, `round ${round}: session came back`);
      t.deepEqual((await storedOf(store, r.sub)).length, 0, `round ${round}: still indexed`);
      t.true((await store.update(r.id, { late: true })) === false, 'a late update reports the session gone');
    }
  });

  it('touch renews the idle expiry of an existing record only, and never moves it back', async (t, store) => {
    const t0 = Date.now();
    const r = sampleRecord({ createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 10_000 });
    await store.create(r);
    await store.touch(r.id, t0 + 5_000, t0 + 15_000);
    const touched = await store.get(r.id, t0 + 12_000);
    t.deepEqual([touched?.lastSeenAt, touched?.idleExpiresAt], [t0 + 5_000, t0 + 15_000], 'renewed');
    await store.touch(r.id, t0 + 4_000, t0 + 14_000);
    t.deepEqual((await store.get(r.id, t0))?.lastSeenAt, t0 + 5_000, 'an older touch is ignored');
    const ghost = newSessionId();
    await store.touch(ghost, t0 + 1, t0 + 60_000);
    t.true((await store.get(ghost, t0)) === undefined, 'touch created a record');
  });

  it('touch and update of one session both take effect', async (t, store) => {
    const t0 = Date.now();
    const r = sampleRecord({ createdAt: t0, lastSeenAt: t0 });
    await store.create(r);
    await Promise.all([store.touch(r.id, t0 + 1000, t0 + 61_000), store.update(r.id, { accessToken: 'refreshed' })]);
    const got = (await store.get(r.id, t0))!;
    t.deepEqual([got.lastSeenAt, got.data.accessToken], [t0 + 1000, 'refreshed'], 'both writes kept');
  });

  it('lists the live sessions of one user, newest first', async (t, store) => {
    const t0 = Date.now();
    const sub = `sub-${randomUUID()}`;
    const [a, b, c] = [t0 - 2000, t0 - 1000, t0].map((createdAt) => sampleRecord({ sub, createdAt }));
    const expired = sampleRecord({ sub, createdAt: t0 - 3000, idleExpiresAt: t0 + 1000 });
    for (const r of [b!, a!, c!, expired, sampleRecord()]) await store.create(r);
    t.deepEqual((await store.listBySub(sub, t0 + 2000)).map((r) => r.id), [c!.id, b!.id, a!.id], 'order and filter');
    t.deepEqual((await store.listBySub(sub, t0 + 2000))[0], expected(c!), 'full records');
    await store.destroy(b!.id);
    t.deepEqual((await store.listBySub(sub, t0)).map((r) => r.id), [c!.id, a!.id, expired.id], 'destroyed one gone');
    t.deepEqual(await store.listBySub(`nobody-${randomUUID()}`, t0), [], 'unknown user');
  });

  it('destroyBySub ends every session of a user but the one kept', async (t, store) => {
    const sub = `sub-${randomUUID()}`;
    const mine = [sampleRecord({ sub }), sampleRecord({ sub }), sampleRecord({ sub })];
    const other = sampleRecord();
    for (const r of [...mine, other]) await store.create(r);
    t.deepEqual(await store.destroyBySub(sub, mine[1]!.id), 2, 'count');
    t.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id), [mine[1]!.id], 'kept one');
    t.true((await store.get(mine[0]!.id, Date.now())) === undefined, 'ended');
    t.true((await store.get(other.id, Date.now())) !== undefined, 'other user untouched');
    t.deepEqual(await store.destroyBySub(sub), 1, 'without exception');
    t.deepEqual(await storedOf(store, sub), [], 'all gone');
  });

  it('destroyBySid ends the sessions of one IdP session only', async (t, store) => {
    const sub = `sub-${randomUUID()}`;
    const sid = `sid-${randomUUID()}`;
    const bound = [sampleRecord({ sub, sid }), sampleRecord({ sid })];
    const sameUserOtherSid = sampleRecord({ sub });
    const noSid = sampleRecord({ sub, sid: undefined });
    for (const r of [...bound, sameUserOtherSid, noSid]) await store.create(r);
    t.deepEqual(await store.destroyBySid(sid), 2, 'count');
    for (const r of bound) t.true((await store.get(r.id, Date.now())) === undefined, 'bound session ended');
    t.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id).sort(), [sameUserOtherSid.id, noSid.id].sort(), 'others kept');
    t.deepEqual(await store.destroyBySid(`sid-${randomUUID()}`), 0, 'unknown sid');
  });

  it('claimOnce admits exactly one of many concurrent callers, and again after its time', async (t, store) => {
    const key = `state:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => store.claimOnce(key, 1)));
    t.deepEqual(results.filter(Boolean).length, 1, 'one winner');
    t.true(await store.claimOnce(`state:${randomUUID()}`, 60), 'another key is independent');
    await eventually(() => store.claimOnce(key, 60), 'claim free again after its ttl');
    t.true(!(await store.claimOnce(key, 60)), 'claimed again');
  });

  it('tryLock: one holder at a time, released by its owner only, expiring by itself', async (t, store) => {
    const key = `refresh:${randomUUID()}`;
    const attempts = await Promise.all(Array.from({ length: 10 }, () => store.tryLock(key, 60_000)));
    t.deepEqual(attempts.filter(Boolean).length, 1, 'one holder');
    await attempts.find(Boolean)!();
    const first = await store.tryLock(key, 300);
    t.true(first !== undefined, 'free after release');
    let second: (() => Promise<void>) | undefined;
    await eventually(async () => (second = await store.tryLock(key, 60_000)) !== undefined, 'lock expires by itself');
    await first!();
    t.true((await store.tryLock(key, 60_000)) === undefined, "a stale owner's release freed someone else's lock");
    await second!();
    t.true((await store.tryLock(key, 60_000)) !== undefined, 'free after the owner released');
  });

  it('removes expired sessions by itself, and keeps touched ones', async (t, store) => {
    const t0 = Date.now();
    const sub = `sub-${randomUUID()}`;
    // Long enough for create + touch to land before the first expiry even on a loaded machine.
    const short = sampleRecord({ sub, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 3000 });
    const renewed = sampleRecord({ sub, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 3000 });
    await store.create(short);
    await store.create(renewed);
    await store.touch(renewed.id, t0 + 1, t0 + 60_000);
    await eventually(async () => (await storedOf(store, sub)).length === 1, 'expired session removed from storage');
    t.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id), [renewed.id], 'the touched one is alive');
  });

  it('answers ping', async (t, store) => {
    await t.notThrowsAsync(store.ping());
  });
}
