/** The telemetry settings: the metrics endpoint's port and interface, OTLP export. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/config.ts';

const PRODUCTION = {
  NODE_ENV: 'production', BASE_URL: 'https://app.example.com', ISSUER_BASE_URL: 'https://login.example.com',
  CLIENT_SECRET: 'a-client-secret-from-the-idp', SESSION_SECRET: 'a-production-session-secret-of-48-bytes-0123456789',
};
const dataDir = () => mkdtempSync(path.join(os.tmpdir(), 'bff-config-'));

test('development serves metrics on 9464 of loopback; test and production only when METRICS_PORT is set', (t) => {
  const dev = loadConfig({ DATA_DIR: dataDir() });
  t.is(dev.metricsPort, 9464);
  t.true(dev.metricsPortDefaulted);
  t.is(dev.metricsHost, '127.0.0.1');
  t.is(dev.otlpEndpoint, undefined);
  t.is(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir() }).metricsPort, undefined);
  const prod = loadConfig({ ...PRODUCTION, DATA_DIR: dataDir() });
  t.is(prod.metricsPort, undefined);
  const scraped = loadConfig({ ...PRODUCTION, METRICS_PORT: '9100', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', DATA_DIR: dataDir() });
  t.is(scraped.metricsPort, 9100);
  t.false(scraped.metricsPortDefaulted);
  t.is(scraped.metricsHost, '0.0.0.0');
  t.is(scraped.otlpEndpoint?.href, 'http://collector:4318/');
});

test('metrics are never served on the app port', (t) => {
  const err = t.throws(() => loadConfig({ PORT: '8080', METRICS_PORT: '8080', DATA_DIR: dataDir() }), { instanceOf: ConfigError });
  t.deepEqual(err!.problems.map((p) => p.split(':')[0]), ['METRICS_PORT']);
  // In development on PORT=9464 the default steps aside rather than colliding.
  t.is(loadConfig({ PORT: '9464', DATA_DIR: dataDir() }).metricsPort, undefined);
});

test('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL', (t) => {
  const err = t.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', DATA_DIR: dataDir() }), { instanceOf: ConfigError });
  t.regex(err!.problems[0]!, /^OTEL_EXPORTER_OTLP_ENDPOINT: /);
});

test('OTLP TLS file settings, general or per signal, are noticed (the SDK exporter takes them; fetch cannot)', (t) => {
  const tls = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir(), ...env }).otlpTlsFiles;
  t.deepEqual(tls({}), { traces: false, metrics: false });
  t.deepEqual(tls({ OTEL_EXPORTER_OTLP_CERTIFICATE: ' ' }), { traces: false, metrics: false });
  t.deepEqual(tls({ OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/ca.pem' }), { traces: true, metrics: true });
  t.deepEqual(tls({ OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY: '/etc/key.pem' }), { traces: false, metrics: true });
  t.deepEqual(tls({ OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: '/etc/cert.pem' }), { traces: true, metrics: false });
});
