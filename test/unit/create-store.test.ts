/** SESSION_STORE picks the store: sqlite by default, memory with a warning outside tests, a clear startup error for a bad SQLite path. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createStore } from '../../src/session/create-store.ts';

const SECRET = 'unit-test-session-secret-0123456789abcdef';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }) });
  return { logger, lines };
}

function dataDir(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-create-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('sqlite is the default, on a file under DATA_DIR', async (t) => {
  const dir = dataDir(t);
  const config = loadConfig({ SESSION_SECRET: SECRET, DATA_DIR: dir });
  t.is(config.sessionStore, 'sqlite');
  t.is(config.sqlitePath, path.join(dir, 'sessions.sqlite'));
  const store = await createStore(config, capture().logger);
  t.is(store.kind, 'sqlite');
  await store.close();
});

test('the memory store logs a warning outside tests, and none in tests', async (t) => {
  for (const [env, warned] of [['development', true], ['test', false]] as const) {
    const { logger, lines } = capture();
    const store = await createStore(loadConfig({ NODE_ENV: env, SESSION_SECRET: SECRET, SESSION_STORE: 'memory', DATA_DIR: dataDir(t) }), logger);
    t.is(store.kind, 'memory');
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
    t.is(warnings.length > 0, warned, env);
    if (warned) t.regex(warnings[0]!.msg, /SESSION_STORE=memory/);
    await store.close();
  }
});

test('a SQLite path that cannot be opened fails at startup naming the setting', async (t) => {
  const dir = dataDir(t);
  // A directory where the file should be.
  const config = loadConfig({ SESSION_SECRET: SECRET, DATA_DIR: dir, SESSION_SQLITE_PATH: dir });
  const err = await t.throwsAsync(createStore(config, capture().logger));
  t.regex(err?.message ?? '', /^SESSION_SQLITE_PATH: cannot open /);
});
