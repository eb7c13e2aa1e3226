/**
 * Issue 8, "Logs": JSON lines, pretty-printed (pino-pretty) only when run in a terminal in
 * development. The terminal is a real pseudo-terminal made by util-linux `script`.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prettyLogs } from '../../src/log.ts';
import { ROOT, SOURCE_CONDITION, spawnApp, TSX_LOADER } from '../helpers/spawn-app.ts';

const ENV = { SESSION_STORE: 'memory', PORT: '0', ISSUER_BASE_URL: 'http://127.0.0.1:1', SESSION_SECRET: 'a-log-format-test-secret-of-more-than-32-bytes' };

test('pretty only for a terminal in development', (t) => {
  t.true(prettyLogs('development', true));
  t.false(prettyLogs('development', false));
  t.false(prettyLogs('production', true));
  t.false(prettyLogs('test', true));
});

test('LOG_FORMAT decides when set: npm start asks for pretty lines through its pipe, json stays json on a terminal', (t) => {
  t.true(prettyLogs('development', false, 'pretty'));
  t.false(prettyLogs('development', true, 'json'));
});

test.serial('in a terminal in development, the app\'s log is pretty-printed', async (t) => {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'bff-tty-'));
  const command = `${process.execPath} --import ${TSX_LOADER} ${SOURCE_CONDITION} ${path.join(ROOT, 'src/main.ts')}`;
  // detached: its own process group, so script and the app can be stopped at once.
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, TERM: 'xterm', NODE_ENV: 'development', DATA_DIR: cwd, ...ENV },
  });
  t.teardown(() => {
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('app listening')) resolve();
    });
    child.on('exit', () => reject(new Error(`exited before listening:\n${out}`)));
  });
  const text = out.replace(/\x1b\[[0-9;]*m/g, '');
  t.regex(text, /^\[[\d:.]+\] INFO: app listening/m, 'a pino-pretty line');
  t.notRegex(text, /^\{"level"/m, 'no JSON line');
});

test.serial('piped (not a terminal), the log is one JSON object per line, even in development', async (t) => {
  const app = spawnApp({ NODE_ENV: 'development', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bff-json-')), ...ENV });
  t.teardown(() => app.kill());
  await app.waitForLog((l) => l.event === 'app.listening');
  const lines = app.stdout().split('\n').filter(Boolean);
  t.true(lines.length >= 2);
  for (const line of lines) t.notThrows(() => JSON.parse(line), line);
});
