/** SQLite specifics beyond the contract: WAL, indexes, persistence across reopen, the purge, and failures as 503s. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { createSqliteStore } from 'koa-oidc-bff/stores/sqlite';
import { StoreUnavailableError } from 'koa-oidc-bff';
import { sampleRecord, sampleTokens } from 'koa-oidc-bff/testing';

function tempFile(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-sqlite-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'a', 'b', 'sessions.sqlite');
}

test('creates its directory and file, in WAL mode, with indexes on sub, sid and expiry', async (t) => {
  const file = tempFile(t);
  const store = createSqliteStore(file);
  await store.close();
  const db = new Database(file, { readonly: true });
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'").all() as { name: string }[]).map((r) => r.name);
  t.true(indexes.includes('sessions_sub') && indexes.includes('sessions_sid') && indexes.includes('sessions_expires_at'));
  // The per-request lookup is one primary-key search, the list one index search.
  const plan = (sql: string) => JSON.stringify(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all("x", 0));
  t.regex(plan('SELECT data FROM sessions WHERE id = ? AND expires_at > ?'), /USING INDEX sqlite_autoindex_sessions_1/);
  t.regex(plan('SELECT id FROM sessions WHERE sub = ? AND expires_at > ?'), /INDEX sessions_(sub|expires_at)/);
  db.close();
});

test('records survive closing and reopening the file', async (t) => {
  const file = tempFile(t);
  const record = sampleRecord();
  const first = createSqliteStore(file);
  await first.create(record);
  await first.close();
  const second = createSqliteStore(file);
  t.is((await second.get(record.id, Date.now()))?.sub, record.sub);
  await second.close();
});

test('purge deletes expired sessions in batches and keeps live ones', async (t) => {
  const store = createSqliteStore(tempFile(t));
  const t0 = Date.now();
  const sub = 'purge-sub';
  for (let i = 0; i < 1200; i++) await store.create(sampleRecord({ sub, idleExpiresAt: t0 + 1000 }));
  const live = sampleRecord({ sub });
  await store.create(live);
  t.is(await store.purge(t0 + 2000), 1200);
  t.deepEqual((await store.listBySub(sub, 0)).map((r) => r.id), [live.id]);
  await store.close();
});

test('a locked database rejects with StoreUnavailableError (a 503), not a driver error', async (t) => {
  const file = tempFile(t);
  const store = createSqliteStore(file, { busyTimeoutMs: 50 });
  const record = sampleRecord();
  await store.create(record);
  const other = new Database(file);
  other.exec('BEGIN EXCLUSIVE');
  try {
    const err = await t.throwsAsync(store.update(record.id, { a: 1 }), { instanceOf: StoreUnavailableError });
    t.is(err?.status, 503);
    t.is(err?.code, 'ERR_SESSION_STORE_UNAVAILABLE');
    t.regex(err?.detail ?? '', /sqlite store: database is locked/);
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
  t.true(await store.update(record.id, { a: 1 }), 'works again once the lock is gone');
  await store.close();
});

test('the token record lives in its own table (the rows every request reads stay small) and leaves with its session, whatever deletes it', async (t) => {
  const file = tempFile(t);
  const store = createSqliteStore(file);
  const a = sampleRecord();
  const b = sampleRecord({ sub: a.sub });
  const c = sampleRecord();
  await store.create(a, sampleTokens());
  await store.create(b, sampleTokens());
  await store.create(c, sampleTokens());
  const db = new Database(file, { readonly: true });
  t.teardown(() => db.close());
  const columns = (db.pragma('table_info(sessions)') as { name: string }[]).map((col) => col.name);
  t.false(columns.includes('tokens'), 'no token column in the sessions table');
  const count = () => (db.prepare('SELECT count(*) AS n FROM session_tokens').get() as { n: number }).n;
  t.is(count(), 3);
  await store.destroyBySub(a.sub, b.id);
  t.is(count(), 2, 'by sub');
  await store.destroyBySid(c.sid!);
  t.is(count(), 1, 'by sid');
  await store.destroy(b.id);
  t.is(count(), 0, 'one by one');
  await store.close();
});

test('a version 1 database (sessions without token records, nor tombstones) is upgraded in place and keeps its sessions', async (t) => {
  const file = tempFile(t);
  const v1 = sampleRecord();
  {
    // What version 1 created: no session_tokens table.
    const store = createSqliteStore(file);
    await store.create(v1);
    await store.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER session_tokens_follow; DROP TABLE session_tokens; DROP TABLE tombstones');
    db.pragma('user_version = 1');
    db.close();
  }
  const store = createSqliteStore(file);
  t.is((await store.get(v1.id, Date.now()))?.sub, v1.sub, 'the old session survives the upgrade');
  t.true(await store.setTokens(v1.id, sampleTokens()));
  t.truthy(await store.getTokens(v1.id, Date.now()));
  await store.addTombstone(v1.id, 60);
  t.true(await store.hasTombstone(v1.id), 'tombstones after the upgrade');
  await store.close();
  const db = new Database(file, { readonly: true });
  t.is(db.pragma('user_version', { simple: true }), 3);
  db.close();
});

test('a new database and its WAL files are readable by their owner only (they hold refresh tokens)', async (t) => {
  const file = tempFile(t);
  const store = createSqliteStore(file);
  await store.create(sampleRecord(), sampleTokens());
  for (const name of [file, `${file}-wal`, `${file}-shm`]) {
    t.is(statSync(name).mode & 0o077, 0, `${path.basename(name)} has no group or other permissions`);
  }
  await store.close();
});
