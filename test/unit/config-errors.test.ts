/**
 * Issue 8, "Configuration": each example of an invalid setting yields exactly one line naming the
 * setting, what is wrong and a valid example; every problem is reported at once.
 * (test/integration/config-startup.test.ts checks the same through the real entry point.)
 */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, SETTING_EXAMPLES, SETTING_NAMES } from '../../src/config.ts';

const DATA_DIR = mkdtempSync(path.join(os.tmpdir(), 'bff-config-'));
const PRODUCTION = { NODE_ENV: 'production', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com', CLIENT_SECRET: 'a-real-client-secret' };
const LINE = /^(?<name>[A-Z_]+): (?<what>.+) \(example: (?<example>[A-Z_]+=.+)\)$/;

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ DATA_DIR, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const examples: [string, Record<string, string>, string, RegExp][] = [
  ['a BASE_URL that is not a URL', { BASE_URL: 'not a url' }, 'BASE_URL', /must be an absolute http\(s\) URL, got "not a url"/],
  ['a BASE_URL with a path', { BASE_URL: 'https://app.example.com/app' }, 'BASE_URL', /must be an origin/],
  ['a non-numeric PORT', { PORT: 'eighty' }, 'PORT', /must be a number/],
  ['a PORT out of range', { PORT: '70000' }, 'PORT', /must be at most 65535/],
  ['NODE_ENV=production without SESSION_SECRET', PRODUCTION, 'SESSION_SECRET', /is required when NODE_ENV=production/],
  ['NODE_ENV=production with a SESSION_SECRET shorter than 32 bytes', { ...PRODUCTION, SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0' }, 'SESSION_SECRET', /at least 32 bytes/],
  ['a placeholder SESSION_SECRET', { SESSION_SECRET: 'keyboard cat' }, 'SESSION_SECRET', /placeholder/],
  ['NODE_ENV=production with the dev-idp client secret', { ...PRODUCTION, CLIENT_SECRET: 'dev-only-insecure-client-secret', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' }, 'CLIENT_SECRET', /must not be the dev-idp default/],
  ['NODE_ENV=production without BASE_URL', { ...PRODUCTION, BASE_URL: '', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' }, 'BASE_URL', /is required when NODE_ENV=production/],
  ['NODE_ENV=production without ISSUER_BASE_URL', { ...PRODUCTION, ISSUER_BASE_URL: '', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' }, 'ISSUER_BASE_URL', /is required when NODE_ENV=production/],
  ['NODE_ENV=production with LOG_FORMAT=pretty', { ...PRODUCTION, LOG_FORMAT: 'pretty', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' }, 'LOG_FORMAT', /pretty is for development/],
  ['NODE_ENV=production on a public http:// BASE_URL', { ...PRODUCTION, BASE_URL: 'http://app.example.com', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' }, 'BASE_URL', /https:\/\/ in production/],
  ['an http:// issuer off loopback', { ISSUER_BASE_URL: 'http://login.example.com' }, 'ISSUER_BASE_URL', /only on a loopback host/],
  ['SESSION_STORE=redis without REDIS_URL', { SESSION_STORE: 'redis' }, 'REDIS_URL', /is required when SESSION_STORE=redis/],
  ['SESSION_STORE=redis-cluster without REDIS_CLUSTER_NODES', { SESSION_STORE: 'redis-cluster' }, 'REDIS_CLUSTER_NODES', /is required when SESSION_STORE=redis-cluster/],
  ['REDIS_CLUSTER_NODES that is not host:port', { SESSION_STORE: 'redis-cluster', REDIS_CLUSTER_NODES: 'redis://a:1' }, 'REDIS_CLUSTER_NODES', /must be host:port,host:port/],
  ['an unknown NODE_ENV', { NODE_ENV: 'prod' }, 'NODE_ENV', /must be one of development, test, production/],
  ['IDP_TIMEOUT=0', { IDP_TIMEOUT: '0' }, 'IDP_TIMEOUT', /must be at least 1/],
  ['an idle timeout above the absolute one', { SESSION_IDLE_TIMEOUT: '7200', SESSION_ABSOLUTE_TIMEOUT: '3600' }, 'SESSION_IDLE_TIMEOUT', /must not exceed SESSION_ABSOLUTE_TIMEOUT/],
];

for (const [title, env, setting, what] of examples) {
  test(`${title}: exactly one line, naming ${setting}, what is wrong and an example`, (t) => {
    const problems = problemsOf(env);
    t.is(problems.length, 1, problems.join('\n'));
    const match = LINE.exec(problems[0]!);
    t.truthy(match, problems[0]);
    t.is(match!.groups!.name, setting);
    t.regex(match!.groups!.what!, what);
    t.is(match!.groups!.example, `${setting}=${SETTING_EXAMPLES[setting as keyof typeof SETTING_EXAMPLES]}`);
    t.false(problems[0]!.includes('\n'));
  });
}

test('one invalid setting never hides a cross-setting problem: all are reported at once', (t) => {
  const problems = problemsOf({ NODE_ENV: 'production', PORT: 'eighty', BASE_URL: 'not a url', ISSUER_BASE_URL: 'http://login.example.com', SESSION_SECRET: 'short', SESSION_STORE: 'redis' });
  t.deepEqual(problems.map((p) => p.split(':')[0]).sort(), ['BASE_URL', 'CLIENT_SECRET', 'ISSUER_BASE_URL', 'PORT', 'REDIS_URL', 'SESSION_SECRET']);
});

test('the ConfigError message is the list, one problem per line, with no stack', (t) => {
  const err = t.throws(() => loadConfig({ DATA_DIR, PORT: 'x', SESSION_STORE: 'redis' }), { instanceOf: ConfigError });
  t.is(err!.message, `Invalid configuration:\n${err!.problems.map((p) => `  - ${p}`).join('\n')}`);
});

test('every setting has an example, and each example (secrets aside) is itself valid', (t) => {
  t.deepEqual(Object.keys(SETTING_EXAMPLES).sort(), [...SETTING_NAMES].sort());
  for (const name of SETTING_NAMES) {
    // Descriptions of how to make one, not values to copy: a secret, a private key (and its file).
    if (name === 'SESSION_SECRET' || name === 'CLIENT_PRIVATE_KEY' || name === 'CLIENT_PRIVATE_KEY_FILE') continue;
    const env: Record<string, string> = { [name]: SETTING_EXAMPLES[name] };
    if (name === 'NODE_ENV') Object.assign(env, PRODUCTION, { SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' });
    t.deepEqual(problemsOf(env), [], name);
  }
});

test('empty values count as unset (a blank line in .env keeps the default)', (t) => {
  const config = loadConfig({ DATA_DIR, PORT: '', SESSION_STORE: '', IDP_TIMEOUT: '' });
  t.is(config.port, 3000);
  t.is(config.sessionStore, 'sqlite');
  t.is(config.idpTimeout, 5);
});
