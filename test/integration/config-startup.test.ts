/**
 * Issue 8, "Configuration", through the real entry point (`node --import tsx src/main.ts`, what
 * `npm run start:app` runs): an invalid environment prints every problem at once, one line each
 * (setting, what is wrong, an example), and exits with status 1 without a stack trace.
 * (Each rule alone: test/unit/config-errors.test.ts.)
 */
import test from 'ava';
import { spawnApp } from '../helpers/spawn-app.ts';

const LINE = /^ {2}- [A-Z_]+: .+ \(example: [A-Z_]+=.+\)$/;

test.serial('the issue\'s examples all at once: exit 1, one line per problem, no stack trace, secrets not echoed', async (t) => {
  const app = spawnApp({
    NODE_ENV: 'production',
    PORT: 'eighty',
    BASE_URL: 'not a url',
    ISSUER_BASE_URL: 'http://login.example.com',
    SESSION_SECRET: 'short-secret-value',
    SESSION_STORE: 'redis',
  });
  const { code } = await app.exited;
  const stderr = app.stderr();
  t.is(code, 1, stderr);
  const [heading, ...lines] = stderr.trimEnd().split('\n');
  t.is(heading, 'Invalid configuration:');
  for (const line of lines) t.regex(line, LINE);
  t.deepEqual(lines.map((l) => l.slice(4).split(':')[0]).sort(), ['BASE_URL', 'CLIENT_SECRET', 'ISSUER_BASE_URL', 'PORT', 'REDIS_URL', 'SESSION_SECRET']);
  t.true(lines.some((l) => l.includes('PORT: must be a number, got "eighty"')));
  t.true(lines.some((l) => l.includes('SESSION_SECRET: each key must be at least 32 bytes')));
  t.notRegex(stderr, /^\s+at /m, 'no stack trace');
  t.false(stderr.includes('short-secret-value'), 'a secret is never echoed');
  t.is(app.stdout(), '', 'nothing started');
});

test.serial('production without BASE_URL and ISSUER_BASE_URL: exit 1, one line naming each', async (t) => {
  const app = spawnApp({ NODE_ENV: 'production', CLIENT_SECRET: 'a-real-client-secret', SESSION_SECRET: 'a-production-session-secret-of-more-than-32-bytes' });
  const { code } = await app.exited;
  const stderr = app.stderr();
  t.is(code, 1, stderr);
  const [heading, ...lines] = stderr.trimEnd().split('\n');
  t.is(heading, 'Invalid configuration:');
  for (const line of lines) t.regex(line, LINE);
  t.deepEqual(lines.map((l) => l.slice(4).split(':')[0]), ['BASE_URL', 'ISSUER_BASE_URL']);
  t.regex(lines[0]!, /BASE_URL: is required when NODE_ENV=production/);
  t.regex(lines[1]!, /ISSUER_BASE_URL: is required when NODE_ENV=production/);
  t.is(app.stdout(), '', 'nothing started');
});

test.serial('production refuses the dev IdP, the memory store and a repetitive secret: exit 1, one line each; ALLOW_INSECURE_DEV_ISSUER=true admits the issuer only', async (t) => {
  const env = {
    NODE_ENV: 'production', PORT: '0', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'http://localhost:4000',
    CLIENT_SECRET: 'a-real-client-secret', SESSION_SECRET: 'abcd'.repeat(10), SESSION_STORE: 'memory',
  };
  const app = spawnApp(env);
  const { code } = await app.exited;
  const stderr = app.stderr();
  t.is(code, 1, stderr);
  const [heading, ...lines] = stderr.trimEnd().split('\n');
  t.is(heading, 'Invalid configuration:');
  for (const line of lines) t.regex(line, LINE);
  t.deepEqual(lines.map((l) => l.slice(4).split(':')[0]).sort(), ['ISSUER_BASE_URL', 'SESSION_SECRET', 'SESSION_STORE']);
  t.true(lines.some((l) => l.includes('ISSUER_BASE_URL: is an http:// loopback issuer, a development IdP') && l.includes('ALLOW_INSECURE_DEV_ISSUER=true')));
  t.false(stderr.includes('abcdabcd'), 'the secret is never echoed');

  const overridden = spawnApp({ ...env, ALLOW_INSECURE_DEV_ISSUER: 'true' });
  await overridden.exited;
  t.deepEqual(overridden.stderr().trimEnd().split('\n').slice(1).map((l) => l.slice(4).split(':')[0]).sort(), ['SESSION_SECRET', 'SESSION_STORE']);
});

test.serial('a valid configuration starts and logs where it listens (control)', async (t) => {
  const app = spawnApp({ NODE_ENV: 'test', LOG_LEVEL: 'info', SESSION_STORE: 'memory', PORT: '0', SESSION_SECRET: 'a-test-session-secret-of-more-than-32-bytes', ISSUER_BASE_URL: 'http://127.0.0.1:9' });
  t.teardown(() => app.kill());
  const line = await app.waitForLog((l) => l.event === 'app.listening');
  t.is(typeof line.port, 'number');
  app.child.kill('SIGTERM');
  t.is((await app.exited).code, 0);
  t.is(app.stderr(), '');
});
