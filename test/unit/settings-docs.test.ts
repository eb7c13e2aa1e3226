/**
 * Issue 8, "Configuration": the README's settings table, `.env.example` and the schema in
 * src/config.ts (plus the dev-idp's own settings) name exactly the same settings, and the
 * documented defaults are the real ones.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { loadDevIdpSettings } from '../../dev-idp/config.ts';
import { loadConfig, OTEL_VARIABLES_READ, SETTING_NAMES, type SettingName } from '../../src/config.ts';
import { ROOT } from '../helpers/spawn-app.ts';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const envExample = parseDotenv(readFileSync(path.join(ROOT, '.env.example')));

/** Rows of the table under "## Settings": setting name -> default cell. */
function readmeSettings(): Map<string, string> {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Settings\n'));
  if (!section) throw new Error('README has no "## Settings" section');
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? '')?.[1];
    if (name) rows.set(name, cells[2] ?? '');
  }
  return rows;
}

/** The environment variables the dev-idp reads (recorded while it loads its settings). */
function devIdpSettingNames(): string[] {
  const read = new Set<string>();
  loadDevIdpSettings(new Proxy({}, { get: (_t, key) => (typeof key === 'string' && read.add(key), undefined) }));
  return [...read];
}

const expected = [...new Set([...SETTING_NAMES, ...devIdpSettingNames()])].sort();

test('the README settings table lists exactly the app schema\'s settings and the dev-idp\'s', (t) => {
  t.deepEqual([...readmeSettings().keys()].sort(), expected);
});

test('.env.example lists exactly the same settings', (t) => {
  t.deepEqual(Object.keys(envExample).sort(), expected);
});

test('every app setting is read by the schema (no README/.env.example row the app ignores)', (t) => {
  const read = new Set<string>();
  const env = new Proxy({ SESSION_SECRET: 'x'.repeat(40) }, { get: (target, key) => (typeof key === 'string' && read.add(key), Reflect.get(target, key)) });
  loadConfig(env);
  // Besides the app's settings, only OpenTelemetry's own OTLP TLS file variables (which exporter to use).
  t.deepEqual([...read].sort(), [...SETTING_NAMES, ...OTEL_VARIABLES_READ].sort());
});

// With a secret given, no development secret is generated, so DATA_DIR=.data touches nothing.
const BASE = { SESSION_SECRET: 'a-documentation-test-secret-of-more-than-32-bytes' };
const asJson = (env: Record<string, string>) => JSON.stringify(loadConfig({ ...BASE, ...env }));

test('each default written in the README is the schema\'s real default', (t) => {
  const defaults = asJson({});
  let checked = 0;
  for (const [name, cell] of readmeSettings()) {
    const literal = /^`([^`$]+)`$/.exec(cell)?.[1];
    if (!literal || !SETTING_NAMES.includes(name as SettingName)) continue;
    t.is(asJson({ [name]: literal }), defaults, `${name}: README says ${cell}`);
    checked++;
  }
  t.true(checked >= 15, `only ${checked} defaults checked`);
});

test('.env.example is valid and, copied to .env, changes nothing but the Redis URL it documents', (t) => {
  const appSettings = Object.fromEntries(Object.entries(envExample).filter(([k, v]) => SETTING_NAMES.includes(k as SettingName) && v !== ''));
  const fromExample = JSON.parse(asJson(appSettings)) as Record<string, unknown>;
  const defaults = JSON.parse(asJson({})) as Record<string, unknown>;
  t.is(fromExample.redisUrl, 'redis://127.0.0.1:6379');
  t.deepEqual({ ...fromExample, redisUrl: undefined }, { ...defaults, redisUrl: undefined });
});
