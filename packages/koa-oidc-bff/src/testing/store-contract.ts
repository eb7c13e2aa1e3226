/**
 * The one contract every session store passes (src/session/store.ts), for any test runner.
 *
 * {@link storeContract} registers one test per case through the `register` function you pass:
 * your runner's own `test`/`it`. The cases assert with `node:assert/strict` and throw on failure,
 * so nothing here depends on a test framework. Each case opens a fresh store with your factory and
 * closes it afterwards. Expiry that the store must enforce by itself (Redis TTL, the SQLite and
 * memory purge) is checked in real time by polling, never by asserting on durations: a case may
 * take a few seconds, so give each one at least 30 s (mocha's 2 s and vitest's 5 s default
 * timeouts are too short; node:test and ava (60 s here) are fine).
 *
 * A store for Postgres, tested with node:test (`node --test`):
 *
 * ```ts
 * import { test } from 'node:test';
 * import { storeContract } from 'koa-oidc-bff/testing';
 * import { createPgStore } from '../src/pg-store.js';
 *
 * storeContract(
 *   'postgres',
 *   async () => {
 *     // Fresh and empty for each case; expired sessions must be removed within seconds.
 *     const schema = `contract_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2)}`;
 *     const store = await createPgStore(process.env.DATABASE_URL!, { schema, purgeIntervalMs: 100 });
 *     return {
 *       store,
 *       async close() {
 *         await store.dropSchema();
 *         await store.close();
 *       },
 *     };
 *   },
 *   (title, fn) => test(title, fn),
 * );
 * ```
 *
 * Other runners: vitest `(title, fn) => test(title, fn, 30_000)`; mocha `(title, fn) => it(title,
 * fn).timeout(30_000)`; ava, which wants one assertion per test,
 * `(title, fn) => test(title, async (t) => { await fn(); t.pass(); })`.
 *
 * {@link sampleRecord} and {@link sampleTokens} make valid, deliberately awkward data for your
 * store's own tests.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { newSessionId } from '../session/session-middleware.ts';
import type { SessionRecord, SessionStore, TokenRecord } from '../session/store.ts';

/** A store under test and how to dispose of it. */
export interface StoreHarness {
  store: SessionStore;
  /** Closes the store and removes what the harness created (temp files, keys, schemas). */
  close(): Promise<void>;
}

/**
 * The host runner's way to declare one test: called once per contract case, synchronously, while
 * {@link storeContract} runs. `fn` resolves when the case passed and rejects (an `AssertionError`
 * or the store's own error) when it failed. The return value is ignored.
 */
export type RegisterTest = (title: string, fn: () => Promise<void>) => unknown;

/**
 * A live record: idle expiry in 1 minute, absolute in 1 hour, and a small hot `data` shaped as the
 * BFF writes it (`user`, `sid`, `csrfSecret`, `loginState`, `returnTo`) with awkward but valid
 * values: markup and quotes in the name, and `user.email` undefined, which a store drops as JSON
 * does. No tokens or claims: those are {@link sampleTokens}. `overrides` replace whole fields
 * (`data` included); `sub` and `sid` given here also appear inside `data`.
 */
export function sampleRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const t = Date.now();
  const sub = overrides.sub ?? `sub-${randomUUID()}`;
  const sid = 'sid' in overrides ? overrides.sid : `sid-${randomUUID()}`;
  return {
    id: newSessionId(),
    sub,
    sid,
    createdAt: t,
    lastSeenAt: t,
    idleExpiresAt: t + 60_000,
    absoluteExpiresAt: t + 3_600_000,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36',
    data: {
      user: { sub, name: 'Zoë <script>alert(1)</script> "O\'Brien"', email: undefined },
      sid,
      csrfSecret: 'csrf-secret',
      loginState: 'x5l4b0n2G2cQ8vE7Y1dWkq3m9JtR6aHfP0sLzUoNi4c',
      returnTo: '/orders?q=%3Cx%3E&sort=-date#top',
    },
    ...overrides,
  };
}

/**
 * A token record as the BFF writes it (tokens/refresh.ts `TokenSet` plus `claims`): tokens unique
 * to this call, an access token expiry in seconds, and claims with nested JSON, markup, quotes,
 * non-BMP characters and JavaScript line separators. `overrides` replace whole fields.
 */
export function sampleTokens(overrides: TokenRecord = {}): TokenRecord {
  const n = randomUUID();
  return {
    accessToken: `eyJhbGciOiJSUzI1NiJ9.access-${n}.c2lnbmF0dXJl`,
    refreshToken: `refresh-${n}`,
    idToken: `eyJhbGciOiJSUzI1NiJ9.id-${n}.c2lnbmF0dXJl`,
    accessTokenExpiresAt: 1_900_000_000,
    claims: {
      sub: `sub-${n}`,
      name: 'Zoë <script>alert(1)</script> "O\'Brien" \\ 🦊 \u2028\u2029',
      groups: ['a', 'b'],
      nested: { deep: [1, 2.5, null, true, { x: '' }] },
      empty: {},
      none: [],
    },
    ...overrides,
  };
}

/** What a store gives back for `r`: the data as JSON would carry it (undefined values dropped). */
const expected = (r: SessionRecord): SessionRecord => ({ ...r, data: asJson(r.data) });

/** `value` as JSON would carry it: what a store gives back (undefined values dropped). */
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Every stored record of `sub`, expired or not: "live at time 0" is all that has not been removed. */
const storedOf = (store: SessionStore, sub: string) => store.listBySub(sub, 0);

/** The stored token record of `id`, expired or not (see {@link storedOf}). */
const storedTokensOf = (store: SessionStore, id: string) => store.getTokens(id, 0);

/**
 * {@link sampleRecord} for `store`: a store that makes its own ids ({@link SessionStore.newId})
 * gets one made for the record's `sub` (unless `overrides` names the id).
 */
export function recordFor(store: SessionStore, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const r = sampleRecord(overrides);
  if (!('id' in overrides) && store.newId) r.id = store.newId(r.sub);
  return r;
}

/** An id no session has, shaped as `store`'s own ids. */
const unknownId = (store: SessionStore) => store.newId?.(`nobody-${randomUUID()}`) ?? newSessionId();

async function eventually(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Registers the contract cases for one store, each as a test titled `<name> store: <case>`.
 * @param name label prefixed to every test title (`memory`, `sqlite`, `redis`, `postgres`).
 * @param open makes a fresh, empty store for one case; for the expiry cases it must remove expired
 *   records within seconds (short purge interval). Its `close` is called when the case ends,
 *   passed or failed.
 * @param register the host runner's test function, e.g. node:test `(title, fn) => test(title, fn)`
 *   (see the module comment for ava, vitest and mocha).
 */
export function storeContract(name: string, open: () => Promise<StoreHarness>, register: RegisterTest): void {
  const it = (title: string, body: (store: SessionStore) => Promise<void>) =>
    register(`${name} store: ${title}`, async () => {
      const harness = await open();
      try {
        await body(harness.store);
      } finally {
        await harness.close();
      }
    });

  it('returns what was created, unchanged', async (store) => {
    const r = recordFor(store);
    await store.create(r);
    assert.deepEqual(await store.get(r.id, Date.now()), expected(r), 'get after create');
    const noSid = recordFor(store, { sid: undefined });
    await store.create(noSid);
    assert.deepEqual((await store.get(noSid.id, Date.now()))?.sid, undefined, 'a record without sid');
  });

  it('keeps a large claim set', async (store) => {
    const claims = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`claim_${i}`, `value ${i} ${'x'.repeat(100)}`]));
    const tokens = sampleTokens({ claims });
    const r = recordFor(store);
    await store.create(r, tokens);
    assert.deepEqual(await store.getTokens(r.id, Date.now()), tokens, 'large claims in the token record, from create');
    const more = { ...claims, claim_0: 'changed', extra: [claims] };
    assert.equal(await store.setTokens(r.id, sampleTokens({ claims: more })), true, 'setTokens of a large record');
    assert.deepEqual((await store.getTokens(r.id, Date.now()))?.claims, more, 'large claims in the token record, from setTokens');
    // The hot record is small in practice, but the store must not limit its size either.
    const large = recordFor(store, { data: { large: claims } });
    await store.create(large);
    assert.deepEqual((await store.get(large.id, Date.now()))?.data, { large: claims }, 'large data');
  });

  it('knows nothing of unknown ids', async (store) => {
    assert.equal(await store.get(unknownId(store), Date.now()), undefined, 'unknown id');
    assert.equal(await store.update(unknownId(store), { a: 1 }), false, 'update of an unknown id');
    assert.equal(await store.getTokens(unknownId(store), Date.now()), undefined, 'tokens of an unknown id');
    const ghost = unknownId(store);
    assert.equal(await store.setTokens(ghost, sampleTokens()), false, 'setTokens of an unknown id');
    assert.equal(await storedTokensOf(store, ghost), undefined, 'setTokens of an unknown id stored tokens');
    assert.equal(await store.get(ghost, Date.now()), undefined, 'setTokens of an unknown id created a session');
  });

  it('never returns a record past its idle or absolute expiry', async (store) => {
    const r = recordFor(store);
    await store.create(r);
    assert.notEqual(await store.get(r.id, r.idleExpiresAt - 1), undefined, 'live just before idle expiry');
    assert.equal(await store.get(r.id, r.idleExpiresAt), undefined, 'gone at idle expiry');
    const capped = recordFor(store, { idleExpiresAt: Date.now() + 120_000, absoluteExpiresAt: Date.now() + 60_000 });
    await store.create(capped);
    assert.equal(await store.get(capped.id, capped.absoluteExpiresAt), undefined, 'gone at absolute expiry even if idle is later');
    assert.equal((await store.listBySub(r.sub, r.idleExpiresAt)).length, 0, 'listBySub excludes expired');
  });

  it('update replaces and removes top-level keys, leaving the others', async (store) => {
    const r = recordFor(store);
    await store.create(r);
    assert.equal(await store.update(r.id, { returnTo: '/elsewhere?a=1', extra: { a: [1] }, loginState: undefined }, ['csrfSecret']), true, 'update returns true');
    const data = (await store.get(r.id, Date.now()))!.data;
    assert.deepEqual(data.returnTo, '/elsewhere?a=1', 'replaced key');
    assert.deepEqual(data.extra, { a: [1] }, 'added key');
    assert.equal('csrfSecret' in data, false, 'removed key');
    assert.equal('loginState' in data, false, 'a key set to undefined is removed, as JSON would');
    assert.deepEqual(data.user, expected(r).data.user, 'untouched key');
  });

  it('concurrent updates of different keys are all kept', async (store) => {
    const r = recordFor(store);
    await store.create(r);
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.update(r.id, { [`k${i}`]: i })));
    const data = (await store.get(r.id, Date.now()))!.data;
    for (let i = 0; i < 25; i++) assert.deepEqual(data[`k${i}`], i, `key k${i}`);
  });

  it('update and touch racing a destroy never resurrect the session', async (store) => {
    for (let round = 0; round < 15; round++) {
      const t0 = Date.now();
      const r = recordFor(store, { createdAt: t0, lastSeenAt: t0 });
      await store.create(r);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        if (i === round % 6) ops.push(store.destroy(r.id));
        ops.push(store.update(r.id, { [`k${i}`]: i }), store.touch(r.id, t0 + i + 1, t0 + 60_000 + i));
      }
      await Promise.all(ops);
      assert.equal(await store.get(r.id, Date.now()), undefined, `round ${round}: session came back`);
      assert.equal((await storedOf(store, r.sub)).length, 0, `round ${round}: still indexed`);
      assert.equal(await store.update(r.id, { late: true }), false, 'a late update reports the session gone');
    }
  });

  it('touch renews the idle expiry of an existing record only, and never moves it back', async (store) => {
    const t0 = Date.now();
    const r = recordFor(store, { createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 10_000 });
    await store.create(r);
    await store.touch(r.id, t0 + 5_000, t0 + 15_000);
    const touched = await store.get(r.id, t0 + 12_000);
    assert.deepEqual([touched?.lastSeenAt, touched?.idleExpiresAt], [t0 + 5_000, t0 + 15_000], 'renewed');
    await store.touch(r.id, t0 + 4_000, t0 + 14_000);
    assert.deepEqual((await store.get(r.id, t0))?.lastSeenAt, t0 + 5_000, 'an older touch is ignored');
    const ghost = unknownId(store);
    await store.touch(ghost, t0 + 1, t0 + 60_000);
    assert.equal(await store.get(ghost, t0), undefined, 'touch created a record');
  });

  it('touch and update of one session both take effect', async (store) => {
    const t0 = Date.now();
    const r = recordFor(store, { createdAt: t0, lastSeenAt: t0 });
    await store.create(r);
    await Promise.all([store.touch(r.id, t0 + 1000, t0 + 61_000), store.update(r.id, { returnTo: '/refreshed' })]);
    const got = (await store.get(r.id, t0))!;
    assert.deepEqual([got.lastSeenAt, got.data.returnTo], [t0 + 1000, '/refreshed'], 'both writes kept');
  });

  it('lists the live sessions of one user, newest first', async (store) => {
    const t0 = Date.now();
    const sub = `sub-${randomUUID()}`;
    const [a, b, c] = [t0 - 2000, t0 - 1000, t0].map((createdAt) => recordFor(store, { sub, createdAt }));
    const expired = recordFor(store, { sub, createdAt: t0 - 3000, idleExpiresAt: t0 + 1000 });
    for (const r of [b!, a!, c!, expired, recordFor(store)]) await store.create(r);
    assert.deepEqual((await store.listBySub(sub, t0 + 2000)).map((r) => r.id), [c!.id, b!.id, a!.id], 'order and filter');
    assert.deepEqual((await store.listBySub(sub, t0 + 2000))[0], expected(c!), 'full records');
    await store.destroy(b!.id);
    assert.deepEqual((await store.listBySub(sub, t0)).map((r) => r.id), [c!.id, a!.id, expired.id], 'destroyed one gone');
    assert.deepEqual(await store.listBySub(`nobody-${randomUUID()}`, t0), [], 'unknown user');
  });

  it('destroyBySub ends every session of a user but the one kept', async (store) => {
    const sub = `sub-${randomUUID()}`;
    const mine = [recordFor(store, { sub }), recordFor(store, { sub }), recordFor(store, { sub })];
    const other = recordFor(store);
    for (const r of [...mine, other]) await store.create(r);
    assert.equal(await store.destroyBySub(sub, mine[1]!.id), 2, 'count');
    assert.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id), [mine[1]!.id], 'kept one');
    assert.equal(await store.get(mine[0]!.id, Date.now()), undefined, 'ended');
    assert.notEqual(await store.get(other.id, Date.now()), undefined, 'other user untouched');
    assert.equal(await store.destroyBySub(sub), 1, 'without exception');
    assert.deepEqual(await storedOf(store, sub), [], 'all gone');
  });

  it('destroyBySid ends the sessions of one IdP session only', async (store) => {
    const sub = `sub-${randomUUID()}`;
    const sid = `sid-${randomUUID()}`;
    const bound = [recordFor(store, { sub, sid }), recordFor(store, { sid })];
    const sameUserOtherSid = recordFor(store, { sub });
    const noSid = recordFor(store, { sub, sid: undefined });
    for (const r of [...bound, sameUserOtherSid, noSid]) await store.create(r);
    assert.equal(await store.destroyBySid(sid), 2, 'count');
    for (const r of bound) assert.equal(await store.get(r.id, Date.now()), undefined, 'bound session ended');
    assert.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id).sort(), [sameUserOtherSid.id, noSid.id].sort(), 'others kept');
    assert.equal(await store.destroyBySid(`sid-${randomUUID()}`), 0, 'unknown sid');
  });

  it('keeps the token record apart: getTokens returns it, get and listBySub never include it', async (store) => {
    const r = recordFor(store);
    const tokens = sampleTokens();
    await store.create(r, tokens);
    assert.deepEqual(await store.getTokens(r.id, Date.now()), asJson(tokens), 'getTokens after create');
    const got = await store.get(r.id, Date.now());
    assert.deepEqual(got, expected(r), 'get: the hot record as created, nothing added');
    for (const key of Object.keys(tokens)) assert.equal(key in got!.data, false, `token field ${key} in the hot record`);
    assert.deepEqual(await store.listBySub(r.sub, Date.now()), [expected(r)], 'listBySub: the hot record only');
  });

  it('a session created without tokens has no token record', async (store) => {
    const r = recordFor(store);
    await store.create(r);
    assert.equal(await store.getTokens(r.id, Date.now()), undefined, 'getTokens of a session without tokens');
    assert.equal(await storedTokensOf(store, r.id), undefined, 'nothing stored');
    assert.notEqual(await store.get(r.id, Date.now()), undefined, 'the session itself is live');
  });

  it('setTokens replaces the whole token record of a live session', async (store) => {
    const r = recordFor(store);
    const first = sampleTokens();
    await store.create(r, first);
    const { refreshToken: _, ...second } = sampleTokens({ accessTokenExpiresAt: 1_900_000_600, claims: { sub: r.sub } });
    assert.equal(await store.setTokens(r.id, second), true, 'setTokens returns true');
    assert.deepEqual(await store.getTokens(r.id, Date.now()), second, 'replaced, not merged: the old refreshToken and claims are gone');
    const bare = recordFor(store);
    await store.create(bare);
    const late = sampleTokens();
    assert.equal(await store.setTokens(bare.id, late), true, 'setTokens on a session created without tokens');
    assert.deepEqual(await store.getTokens(bare.id, Date.now()), late, 'tokens given after create');
  });

  it('setTokens after destroy writes nothing: tokens never resurrect a session', async (store) => {
    const r = recordFor(store);
    await store.create(r, sampleTokens());
    await store.destroy(r.id);
    assert.equal(await store.setTokens(r.id, sampleTokens()), false, 'setTokens reports the session gone');
    assert.equal(await storedTokensOf(store, r.id), undefined, 'tokens came back');
    assert.equal(await store.get(r.id, Date.now()), undefined, 'session came back');
    assert.deepEqual(await storedOf(store, r.sub), [], 'session indexed again');
    assert.equal(await store.update(r.id, { late: true }), false, 'update after setTokens still sees no session');
  });

  it('setTokens racing a destroy never resurrects the session or its tokens', async (store) => {
    for (let round = 0; round < 15; round++) {
      const t0 = Date.now();
      const r = recordFor(store, { createdAt: t0, lastSeenAt: t0 });
      await store.create(r, sampleTokens());
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        if (i === round % 6) ops.push(store.destroy(r.id));
        ops.push(store.setTokens(r.id, sampleTokens()), store.touch(r.id, t0 + i + 1, t0 + 60_000 + i));
      }
      await Promise.all(ops);
      assert.equal(await storedTokensOf(store, r.id), undefined, `round ${round}: tokens came back`);
      assert.equal(await store.get(r.id, Date.now()), undefined, `round ${round}: session came back`);
      assert.equal((await storedOf(store, r.sub)).length, 0, `round ${round}: still indexed`);
      assert.equal(await store.setTokens(r.id, sampleTokens()), false, 'a late setTokens reports the session gone');
    }
  });

  it('destroy, destroyBySub and destroyBySid remove the token record too', async (store) => {
    const sub = `sub-${randomUUID()}`;
    const sid = `sid-${randomUUID()}`;
    const single = recordFor(store);
    const bySid = recordFor(store, { sid });
    const bySub = [recordFor(store, { sub }), recordFor(store, { sub })];
    const kept = recordFor(store, { sub });
    const other = recordFor(store);
    const tokens = new Map<string, TokenRecord>();
    for (const r of [single, bySid, ...bySub, kept, other]) {
      tokens.set(r.id, sampleTokens());
      await store.create(r, tokens.get(r.id));
    }
    await store.destroy(single.id);
    assert.equal(await store.destroyBySid(sid), 1, 'destroyBySid count');
    assert.equal(await store.destroyBySub(sub, kept.id), 2, 'destroyBySub count');
    for (const [how, r] of [['destroy', single], ['destroyBySid', bySid], ['destroyBySub', bySub[0]!], ['destroyBySub', bySub[1]!]] as const) {
      assert.equal(await storedTokensOf(store, r.id), undefined, `${how}: token record left behind`);
      // A record under the same id again (ids never repeat in practice) must not find the old tokens.
      await store.create(recordFor(store, { id: r.id, sub: r.sub }));
      assert.equal(await store.getTokens(r.id, Date.now()), undefined, `${how}: old tokens attached to a new session of the same id`);
    }
    assert.deepEqual(await store.getTokens(kept.id, Date.now()), tokens.get(kept.id), 'the kept session keeps its tokens');
    assert.deepEqual(await store.getTokens(other.id, Date.now()), tokens.get(other.id), "another user's tokens untouched");
  });

  it('getTokens never returns the tokens of a session past its idle or absolute expiry', async (store) => {
    const t0 = Date.now();
    const r = recordFor(store, { createdAt: t0, lastSeenAt: t0 });
    const tokens = sampleTokens();
    await store.create(r, tokens);
    assert.deepEqual(await store.getTokens(r.id, r.idleExpiresAt - 1), tokens, 'live just before idle expiry');
    assert.equal(await store.getTokens(r.id, r.idleExpiresAt), undefined, 'gone at idle expiry');
    const capped = recordFor(store, { idleExpiresAt: t0 + 120_000, absoluteExpiresAt: t0 + 60_000 });
    await store.create(capped, sampleTokens());
    assert.equal(await store.getTokens(capped.id, capped.absoluteExpiresAt), undefined, 'gone at absolute expiry even if idle is later');
    await store.touch(r.id, t0 + 5_000, t0 + 120_000);
    assert.deepEqual(await store.getTokens(r.id, r.idleExpiresAt), tokens, 'touch renews the tokens with the session');
    assert.equal(await store.getTokens(r.id, t0 + 120_000), undefined, 'gone at the renewed idle expiry');
  });

  it('update of hot keys leaves the token record untouched, and setTokens the hot record', async (store) => {
    const r = recordFor(store);
    const tokens = sampleTokens();
    await store.create(r, tokens);
    assert.equal(await store.update(r.id, { returnTo: '/elsewhere', extra: 1 }, ['loginState']), true, 'update returns true');
    assert.deepEqual(await store.getTokens(r.id, Date.now()), tokens, 'token record after update');
    const hot = await store.get(r.id, Date.now());
    const next = sampleTokens();
    assert.equal(await store.setTokens(r.id, next), true, 'setTokens returns true');
    assert.deepEqual(await store.get(r.id, Date.now()), hot, 'hot record after setTokens');
    await Promise.all([store.update(r.id, { returnTo: '/both' }), store.setTokens(r.id, tokens), store.touch(r.id, r.lastSeenAt + 1000, r.lastSeenAt + 61_000)]);
    const got = (await store.get(r.id, Date.now()))!;
    assert.deepEqual([got.data.returnTo, got.lastSeenAt], ['/both', r.lastSeenAt + 1000], 'concurrent update and touch kept');
    assert.deepEqual(await store.getTokens(r.id, Date.now()), tokens, 'concurrent setTokens kept');
  });

  it('tombstones: present after addTombstone for that id only, independent of the session, gone after their time', async (store) => {
    const ended = recordFor(store);
    const live = recordFor(store);
    await store.create(ended, sampleTokens());
    await store.create(live);
    assert.equal(await store.hasTombstone(ended.id), false, 'no tombstone before');
    await store.addTombstone(ended.id, 60);
    await store.destroy(ended.id);
    assert.equal(await store.hasTombstone(ended.id), true, 'tombstone of the ended session');
    assert.equal(await store.hasTombstone(live.id), false, 'another session has none');
    assert.equal(await store.hasTombstone(recordFor(store).id), false, 'an unknown id has none');
    assert.notEqual(await store.get(live.id, Date.now()), undefined, 'the other session is untouched');
    // Ids as the store makes them (a store with newId places the tombstone by the id's owner).
    const brief = recordFor(store).id;
    await store.addTombstone(brief, 60);
    await store.addTombstone(brief, 1);
    assert.equal(await store.hasTombstone(brief), true, 'renewed, still there');
    await eventually(async () => !(await store.hasTombstone(brief)), 'tombstone expires after its ttl');
    assert.equal(await store.hasTombstone(ended.id), true, 'the long one is still there');
  });

  it('claimOnce admits exactly one of many concurrent callers, and again after its time', async (store) => {
    const key = `state:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 10 }, () => store.claimOnce(key, 1)));
    assert.equal(results.filter(Boolean).length, 1, 'one winner');
    assert.equal(await store.claimOnce(`state:${randomUUID()}`, 60), true, 'another key is independent');
    await eventually(() => store.claimOnce(key, 60), 'claim free again after its ttl');
    assert.equal(await store.claimOnce(key, 60), false, 'claimed again');
  });

  it('releaseClaim frees a claim at once; releasing an unknown key is harmless', async (store) => {
    const key = `logout-jti:${randomUUID()}`;
    assert.equal(await store.claimOnce(key, 60), true);
    assert.equal(await store.claimOnce(key, 60), false, 'claimed');
    await store.releaseClaim(key);
    assert.equal(await store.claimOnce(key, 60), true, 'free again after release');
    await store.releaseClaim(`logout-jti:${randomUUID()}`);
  });

  it('tryLock: one holder at a time, released by its owner only, expiring by itself', async (store) => {
    const key = `refresh:${randomUUID()}`;
    const attempts = await Promise.all(Array.from({ length: 10 }, () => store.tryLock(key, 60_000)));
    assert.equal(attempts.filter(Boolean).length, 1, 'one holder');
    await attempts.find(Boolean)!();
    const first = await store.tryLock(key, 300);
    assert.notEqual(first, undefined, 'free after release');
    let second: (() => Promise<void>) | undefined;
    await eventually(async () => (second = await store.tryLock(key, 60_000)) !== undefined, 'lock expires by itself');
    await first!();
    assert.equal(await store.tryLock(key, 60_000), undefined, "a stale owner's release freed someone else's lock");
    await second!();
    assert.notEqual(await store.tryLock(key, 60_000), undefined, 'free after the owner released');
  });

  it('removes expired sessions by itself, and keeps touched ones', async (store) => {
    const t0 = Date.now();
    const sub = `sub-${randomUUID()}`;
    // Long enough for create + touch to land before the first expiry even on a loaded machine.
    const short = recordFor(store, { sub, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 3000 });
    const renewed = recordFor(store, { sub, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 3000 });
    await store.create(short);
    await store.create(renewed);
    await store.touch(renewed.id, t0 + 1, t0 + 60_000);
    await eventually(async () => (await storedOf(store, sub)).length === 1, 'expired session removed from storage');
    assert.deepEqual((await store.listBySub(sub, Date.now())).map((r) => r.id), [renewed.id], 'the touched one is alive');
  });

  it('removes the token records of expired sessions by itself, and keeps those of touched ones', async (store) => {
    const t0 = Date.now();
    const sub = `sub-${randomUUID()}`;
    // As above: the touch lands well before the first expiry; only then is real time waited for.
    const short = recordFor(store, { sub, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 3000 });
    const renewed = recordFor(store, { sub, createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 3000 });
    const tokens = sampleTokens();
    await store.create(short, sampleTokens());
    await store.create(renewed, tokens);
    await store.touch(renewed.id, t0 + 1, t0 + 60_000);
    // Gone from storage means its expiry, which was the renewed one's before the touch, has passed.
    await eventually(async () => (await storedTokensOf(store, short.id)) === undefined && (await storedOf(store, sub)).length === 1, 'expired session and its tokens removed from storage');
    assert.deepEqual(await store.getTokens(renewed.id, Date.now()), tokens, 'the touched session still has its tokens past its original expiry');
    assert.equal(await store.setTokens(short.id, sampleTokens()), false, 'setTokens of the expired session');
  });

  it('answers ping', async (store) => {
    await assert.doesNotReject(store.ping());
  });
}
