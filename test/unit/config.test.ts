/** Configuration defaults and the rules that keep development conveniences out of production. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'bff-config-'));
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

test('with no settings the app runs against the dev-idp on localhost', (t) => {
  const dataDir = tmp();
  const config = loadConfig({ DATA_DIR: dataDir });
  t.is(config.port, 3000);
  t.is(config.baseUrl.href, 'http://localhost:3000/');
  t.is(config.redirectUri.href, 'http://localhost:3000/callback');
  t.is(config.issuer.href, 'http://localhost:4000/');
  t.is(config.clientId, 'bff-demo');
  t.is(config.responseType, 'code');
  t.is(config.scope, 'openid profile email offline_access');
  t.false(config.secureCookies);
  t.true(Object.isFrozen(config));
});

test('BASE_URL follows PORT by default', (t) => {
  t.is(loadConfig({ PORT: '8080', DATA_DIR: tmp() }).baseUrl.href, 'http://localhost:8080/');
});

test('in development a session secret is generated once and kept under DATA_DIR', (t) => {
  const dataDir = tmp();
  const first = loadConfig({ DATA_DIR: dataDir }).sessionKeys;
  const second = loadConfig({ DATA_DIR: dataDir }).sessionKeys;
  t.deepEqual(first, second);
  t.true(first[0]!.length >= 32);
  const file = path.join(dataDir, 'session-secret');
  t.is(readFileSync(file, 'utf8'), first[0]!);
  t.is(statSync(file).mode & 0o077, 0, 'readable by the owner only');
});

test('an http:// issuer off loopback fails with a line naming ISSUER_BASE_URL', (t) => {
  const problems = problemsOf({ ISSUER_BASE_URL: 'http://login.example.com', DATA_DIR: tmp() });
  t.is(problems.length, 1);
  t.regex(problems[0]!, /^ISSUER_BASE_URL: /);
  for (const host of ['http://localhost:4000', 'http://127.0.0.1:4000', 'http://[::1]:4000']) {
    t.deepEqual(problemsOf({ ISSUER_BASE_URL: host, DATA_DIR: tmp() }), [], host);
  }
});

test('production requires SESSION_SECRET and CLIENT_SECRET, and never takes a placeholder', (t) => {
  const base = { NODE_ENV: 'production', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com' };
  const missing = problemsOf(base);
  t.true(missing.some((p) => p.startsWith('SESSION_SECRET:')));
  t.true(missing.some((p) => p.startsWith('CLIENT_SECRET:')));
  t.true(problemsOf({ ...base, SESSION_SECRET: 'keyboard cat', CLIENT_SECRET: 'x' }).some((p) => /SESSION_SECRET: .*placeholder/.test(p)));
  t.true(problemsOf({ ...base, SESSION_SECRET: 'too-short', CLIENT_SECRET: 'x' }).some((p) => /SESSION_SECRET: .*32 bytes/.test(p)));
  t.true(problemsOf({ ...base, SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe', CLIENT_SECRET: 'dev-only-insecure-client-secret' }).some((p) => p.startsWith('CLIENT_SECRET:')));
  const ok = loadConfig({ ...base, SESSION_SECRET: `${'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe'},${'Rm4tX8qL2vN7pZ3wC9kF5hJ1bG6yD0sAiE'}`, CLIENT_SECRET: 'real-secret' });
  t.deepEqual(ok.sessionKeys, ['k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe', 'Rm4tX8qL2vN7pZ3wC9kF5hJ1bG6yD0sAiE']);
  t.true(ok.secureCookies);
});

test('production requires BASE_URL and ISSUER_BASE_URL to be set: the defaults are this machine and the dev-idp', (t) => {
  const secrets = { NODE_ENV: 'production', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe', CLIENT_SECRET: 'real-secret', DATA_DIR: tmp() };
  t.deepEqual(problemsOf(secrets).map((p) => p.split(':')[0]), ['BASE_URL', 'ISSUER_BASE_URL']);
  t.deepEqual(problemsOf({ ...secrets, BASE_URL: 'https://app.example.com' }).map((p) => p.split(':')[0]), ['ISSUER_BASE_URL']);
  t.deepEqual(problemsOf({ ...secrets, ISSUER_BASE_URL: 'https://login.example.com' }).map((p) => p.split(':')[0]), ['BASE_URL']);
  // Even when set to what the development defaults would be, an explicit value is accepted.
  t.is(loadConfig({ ...secrets, BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com' }).issuer.href, 'https://login.example.com/');
  // Outside production the defaults stay.
  t.deepEqual(problemsOf({ NODE_ENV: 'test', DATA_DIR: tmp() }), []);
});

test('the issuer is the bundled dev-idp when it is an http loopback URL on the dev-idp\'s port', (t) => {
  const isDevIdp = (env: Record<string, string>) => loadConfig({ DATA_DIR: tmp(), ...env }).issuerIsDevIdp;
  t.true(isDevIdp({}), 'the default issuer, http://localhost:4000');
  t.true(isDevIdp({ ISSUER_BASE_URL: 'http://127.0.0.1:4000' }));
  t.true(isDevIdp({ ISSUER_BASE_URL: 'http://localhost:4321', DEV_IDP_PORT: '4321' }));
  t.true(isDevIdp({ ISSUER_BASE_URL: 'http://127.0.0.1:4500', DEV_IDP_ISSUER: 'http://127.0.0.1:4500', DEV_IDP_PORT: '4000' }), 'DEV_IDP_ISSUER wins, as in the dev-idp');
  t.false(isDevIdp({ ISSUER_BASE_URL: 'http://localhost:8080' }), 'another local IdP (a Keycloak on 8080)');
  t.false(isDevIdp({ ISSUER_BASE_URL: 'http://localhost:4000', DEV_IDP_PORT: '4001' }));
  t.false(isDevIdp({ ISSUER_BASE_URL: 'http://localhost:4000/realms/demo' }), 'an issuer with a path is not the dev-idp');
  t.false(isDevIdp({ ISSUER_BASE_URL: 'https://login.example.com' }));
  t.false(isDevIdp({ DEV_IDP_PORT: 'not-a-port' }), 'the dev-idp reports its own invalid settings');
  t.false(loadConfig({
    NODE_ENV: 'production', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'http://localhost:4000', ALLOW_INSECURE_DEV_ISSUER: 'true', CLIENT_SECRET: 'real-secret', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe',
  }).issuerIsDevIdp, 'never in production');
});

test('LOG_FORMAT: json or pretty, unset by default (the terminal decides), pretty refused in production', (t) => {
  t.is(loadConfig({ DATA_DIR: tmp() }).logFormat, undefined);
  t.is(loadConfig({ DATA_DIR: tmp(), LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
  t.regex(problemsOf({ DATA_DIR: tmp(), LOG_FORMAT: 'yaml' })[0]!, /^LOG_FORMAT: must be one of json, pretty/);
  const production = { NODE_ENV: 'production', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com', CLIENT_SECRET: 'real-secret', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe' };
  t.is(loadConfig({ ...production, LOG_FORMAT: 'json' }).logFormat, 'json');
  t.deepEqual(problemsOf({ ...production, LOG_FORMAT: 'pretty' }).map((p) => p.split(':')[0]), ['LOG_FORMAT']);
});

test('RESPONSE_TYPE accepts code and id_token only', (t) => {
  t.is(loadConfig({ RESPONSE_TYPE: 'id_token', DATA_DIR: tmp() }).scope, 'openid profile email');
  t.regex(problemsOf({ RESPONSE_TYPE: 'token', DATA_DIR: tmp() })[0]!, /^RESPONSE_TYPE: /);
});

test('without ISSUER_BASE_URL and REMOTE_API_URL the app follows the dev-idp settings (DEV_IDP_PORT or DEV_IDP_ISSUER, DEV_API_PORT)', (t) => {
  const byPort = loadConfig({ DEV_IDP_PORT: '4411', DEV_API_PORT: '4412', DATA_DIR: tmp() });
  t.is(byPort.issuer.href, 'http://localhost:4411/');
  t.is(byPort.remoteApiUrl.href, 'http://localhost:4412/');
  t.true(byPort.issuerIsDevIdp);
  const byIssuer = loadConfig({ DEV_IDP_ISSUER: 'http://127.0.0.1:4413', DATA_DIR: tmp() });
  t.is(byIssuer.issuer.href, 'http://127.0.0.1:4413/');
  t.is(byIssuer.remoteApiUrl.href, 'http://localhost:4100/');
  const explicit = loadConfig({ DEV_IDP_PORT: '4411', ISSUER_BASE_URL: 'http://localhost:4000', DATA_DIR: tmp() });
  t.is(explicit.issuer.href, 'http://localhost:4000/', 'an explicit ISSUER_BASE_URL wins');
});

test('production refuses development defaults: a loopback http issuer (unless ALLOW_INSECURE_DEV_ISSUER=true), SESSION_STORE=memory, a repetitive SESSION_SECRET', (t) => {
  const production = { NODE_ENV: 'production', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com', CLIENT_SECRET: 'real-secret', SESSION_SECRET: 'k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe', DATA_DIR: tmp() };
  t.deepEqual(problemsOf(production), []);

  const devIssuer = problemsOf({ ...production, ISSUER_BASE_URL: 'http://localhost:4000' });
  t.is(devIssuer.length, 1);
  t.regex(devIssuer[0]!, /^ISSUER_BASE_URL: is an http:\/\/ loopback issuer, a development IdP; .*ALLOW_INSECURE_DEV_ISSUER=true/);
  t.deepEqual(problemsOf({ ...production, ISSUER_BASE_URL: 'http://127.0.0.1:4000', ALLOW_INSECURE_DEV_ISSUER: 'true' }), [], 'the explicit override');
  t.deepEqual(problemsOf({ NODE_ENV: 'test', ISSUER_BASE_URL: 'http://localhost:4000', DATA_DIR: tmp() }), [], 'outside production no override is needed');

  const memory = problemsOf({ ...production, SESSION_STORE: 'memory' });
  t.is(memory.length, 1);
  t.regex(memory[0]!, /^SESSION_STORE: memory loses sessions on restart/);
  t.deepEqual(problemsOf({ NODE_ENV: 'test', SESSION_STORE: 'memory', DATA_DIR: tmp() }), []);

  for (const weak of ['a'.repeat(40), 'abc123'.repeat(7), 'abababababababababab-abababababababababab', `${'0123456789'.repeat(4)}`]) {
    const problems = problemsOf({ ...production, SESSION_SECRET: weak });
    t.is(problems.length, 1, weak);
    t.regex(problems[0]!, /^SESSION_SECRET: (is a repetition|has only \d+ distinct characters)/, weak);
    t.false(problems[0]!.includes(weak), 'the secret is never echoed');
  }
  // A second key is checked too; random base64 passes.
  t.is(problemsOf({ ...production, SESSION_SECRET: `k7Qm2xVp9LwZ4rT8nB3cY6fH1jD5sG0aUe,${'z'.repeat(40)}` }).length, 1);
  t.deepEqual(problemsOf({ ...production, SESSION_SECRET: randomBytes(32).toString('base64') }), []);
});
