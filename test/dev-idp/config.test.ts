import test from 'ava';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, loadDevIdpSettings } from '../../dev-idp/config.ts';

test('defaults: port 4000 on localhost, API on 4100, the app on http://localhost:3000 as bff-demo', (t) => {
  const settings = loadDevIdpSettings({});
  t.is(settings.port, 4000);
  t.is(settings.host, 'localhost');
  t.is(settings.apiPort, 4100);
  t.is(settings.accountsPath, undefined);
  t.deepEqual(settings.client, { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, baseUrl: 'http://localhost:3000' });
  t.is(DEFAULT_CLIENT_ID, 'bff-demo');
  t.is(DEFAULT_CLIENT_SECRET, 'dev-only-insecure-client-secret');
});

test('the app registration follows the app settings (CLIENT_ID, CLIENT_SECRET, BASE_URL or PORT)', (t) => {
  t.is(loadDevIdpSettings({ PORT: '3100' }).client.baseUrl, 'http://localhost:3100');
  const settings = loadDevIdpSettings({ CLIENT_ID: 'x', CLIENT_SECRET: 'y', BASE_URL: 'http://127.0.0.1:8080' });
  t.deepEqual(settings.client, { clientId: 'x', clientSecret: 'y', baseUrl: 'http://127.0.0.1:8080' });
});

test('DEV_IDP_ISSUER sets host and port; it must be a loopback http URL', (t) => {
  const settings = loadDevIdpSettings({ DEV_IDP_ISSUER: 'http://127.0.0.1:4500' });
  t.is(settings.host, '127.0.0.1');
  t.is(settings.port, 4500);
  t.throws(() => loadDevIdpSettings({ DEV_IDP_ISSUER: 'https://idp.example.com' }), { message: /DEV_IDP_ISSUER/ });
});

test('every invalid setting is reported at once, by name', (t) => {
  const error = t.throws(() => loadDevIdpSettings({ DEV_IDP_PORT: 'abc', DEV_API_PORT: '70000', BASE_URL: 'ftp://x' }));
  t.regex(error!.message, /DEV_IDP_PORT/);
  t.regex(error!.message, /DEV_API_PORT/);
  t.regex(error!.message, /BASE_URL/);
});
