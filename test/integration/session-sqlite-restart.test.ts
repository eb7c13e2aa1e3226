/** SQLite (the default store): sessions survive stopping the app and starting a new instance on the same file. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startStack } from '../helpers/stack.ts';
import { UserAgent } from '../helpers/user-agent.ts';

test('a logged-in browser is still logged in after the app is stopped and started again', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bff-sqlite-restart-'));
  const env = { SESSION_STORE: 'sqlite', SESSION_SQLITE_PATH: path.join(dir, 'nested', 'sessions.sqlite') };
  try {
    const before = await startStack({ env });
    t.is(before.store.kind, 'sqlite');
    const browser = new UserAgent(before.appUrl);
    await browser.login('alice', 'alice-password', '/');
    t.is((await browser.hx('/api/hello', '/')).statusCode, 200);
    const cookie = await browser.cookie('bff.sid');
    await before.close();

    const after = await startStack({ env });
    try {
      // Same browser (its cookie jar), new app instance with a new store object on the same file.
      const again = new UserAgent(after.appUrl);
      for (const c of await browser.jar.getCookies(before.appUrl)) await again.jar.setCookie(c, after.appUrl);
      t.is(await again.cookie('bff.sid'), cookie);
      const hello = await again.http.get(again.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' } });
      t.is(hello.statusCode, 200);
      t.regex(JSON.parse(hello.body).message, /Alice Example/);
      const profile = await again.navigate('/profile');
      t.is(profile.statusCode, 200);
      t.true(profile.body.includes('a1b2c3d4-alice'));
    } finally {
      await after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same check fails with the memory store (the test can tell the difference)', async (t) => {
  const before = await startStack({ env: { SESSION_STORE: 'memory' } });
  const browser = new UserAgent(before.appUrl);
  await browser.login('alice', 'alice-password', '/');
  await before.close();
  const after = await startStack({ env: { SESSION_STORE: 'memory' } });
  try {
    const again = new UserAgent(after.appUrl);
    for (const c of await browser.jar.getCookies(before.appUrl)) await again.jar.setCookie(c, after.appUrl);
    const hello = await again.http.get(again.url('/api/hello'), { headers: { 'x-csrf': '1', accept: 'application/json' } });
    t.is(hello.statusCode, 401);
  } finally {
    await after.close();
  }
});
